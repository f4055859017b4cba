/** Reading bodies and query parameters with zod: problems become 422 with paths. */
import type { z } from 'zod';
import type { ErrorIssue } from '../../shared/errors.js';
import { unprocessable, unsupportedMediaType } from './http-error.js';
import type { ApiRequest } from './request.js';

export function issuesOf(error: z.ZodError, prefix = ''): ErrorIssue[] {
  return error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    return { path: prefix ? (path ? `${prefix}.${path}` : prefix) : path || '(root)', message: i.message };
  });
}

/** The JSON body checked against `schema`; an absent body is `{}`. */
export function jsonBody<T>(request: ApiRequest, schema: z.ZodType<T>): T {
  const body = request.body;
  if (body.kind === 'yaml')
    throw unsupportedMediaType('This route takes JSON: send the body as application/json');
  const value = body.kind === 'json' ? body.value : {};
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw unprocessable('The request body is not valid', issuesOf(parsed.error));
  return parsed.data;
}

export function queryParams<T>(request: ApiRequest, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(request.query);
  if (!parsed.success) throw unprocessable('The query parameters are not valid', issuesOf(parsed.error));
  return parsed.data;
}

/**
 * Refuses, before the route runs, a query parameter the operation does not take (CONTRACT §9): a
 * misspelt filter (`?stauts=failed`) would otherwise be ignored and answer the unfiltered list.
 */
export function checkQueryNames(query: Record<string, string>, schema: z.ZodObject | undefined): void {
  const known = Object.keys(schema?.shape ?? {});
  const unknown = Object.keys(query).filter((name) => !known.includes(name));
  if (unknown.length === 0) return;
  const takes = known.length > 0 ? `it takes ${known.join(', ')}` : 'it takes none';
  throw unprocessable(
    'The query parameters are not valid',
    unknown.map((name) => ({ path: name, message: `unknown query parameter '${name}': ${takes}` })),
  );
}
