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
