/**
 * Reads the request body once, before any route: enforces the size limit (413), accepts only the
 * declared media types (JSON; YAML kept as text, so the validator can report lines and columns),
 * refuses JSON that nests too deep or holds a number JSON.parse would turn into Infinity, and
 * parses the rest (400 when malformed, never middy's 415).
 */
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MAX_NESTING_DEPTH } from '../../../shared/definition/parse.js';
import { scanJsonText } from '../../../shared/json-schema/json-text.js';
import { badRequest, HttpError, unsupportedMediaType } from '../http-error.js';
import { type ApiEvent, methodOf, type ParsedBody, pathOf } from '../request.js';

export interface BodyParserOptions {
  /** The largest body accepted, in bytes. */
  maxBodyBytes?: number;
  /** The deepest nesting of arrays and objects accepted in a JSON body. */
  maxDepth?: number;
  /** Paths whose body is handed over as raw bytes of any type, within the size limit (default RAW_PATHS). */
  rawPaths?: readonly RegExp[];
}

/** Webhooks: their signature covers the bytes as sent, and providers send more than JSON (GitHub: forms). */
export const RAW_PATHS: readonly RegExp[] = [/^\/v1\/hooks\/[^/]+$/];

const defaults: Required<BodyParserOptions> = {
  maxBodyBytes: 1_048_576,
  maxDepth: MAX_NESTING_DEPTH,
  rawPaths: RAW_PATHS,
};

const JSON_TYPE = 'application/json';
const BODILESS = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS']);
const YAML_TYPES = new Set(['text/yaml', 'application/yaml', 'application/x-yaml', 'text/x-yaml']);

export function bodyParser(
  options: BodyParserOptions = {},
): middy.MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const { maxBodyBytes, maxDepth, rawPaths } = { ...defaults, ...options };

  const bodyParserBefore: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (
    request,
  ) => {
    const event = request.event;
    const path = pathOf(event);
    if (rawPaths.some((pattern) => pattern.test(path))) {
      event.rawBody = rawBody(event, maxBodyBytes);
      event.parsedBody = { kind: 'none' };
    } else {
      // A body on a method that has none means nothing (RFC 9110): it is not read, so it cannot be refused.
      event.parsedBody = BODILESS.has(methodOf(event))
        ? { kind: 'none' }
        : parseBody(event, maxBodyBytes, maxDepth);
    }
  };

  return { before: bodyParserBefore };
}

/** The one 413 of the API (the local server leaves it to this too): the same title and detail everywhere. */
function contentTooLarge(maxBodyBytes: number): HttpError {
  return new HttpError(
    413,
    'Content Too Large',
    `The body is larger than the limit of ${maxBodyBytes} bytes`,
  );
}

/** The body's bytes (API Gateway's base64 decoded), within the limit, whatever their type. */
function rawBody(event: ApiEvent, maxBodyBytes: number): Uint8Array {
  checkDeclaredLength(event, maxBodyBytes);
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBodyBytes) throw contentTooLarge(maxBodyBytes);
  return new Uint8Array(bytes);
}

function checkDeclaredLength(event: ApiEvent, maxBodyBytes: number): void {
  // A declared length over the limit is refused without looking at the body (the local server
  // does not read it).
  const declared = event.headers['content-length']?.trim();
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBodyBytes) {
    throw contentTooLarge(maxBodyBytes);
  }
}

function parseBody(event: ApiEvent, maxBodyBytes: number, maxDepth: number): ParsedBody {
  checkDeclaredLength(event, maxBodyBytes);
  const raw = event.body;
  if (raw === undefined || raw === null || raw === '') return { kind: 'none' };
  const decoded = event.isBase64Encoded ? Buffer.from(raw, 'base64') : undefined;
  const size = decoded ? decoded.length : Buffer.byteLength(raw, 'utf8');
  if (size > maxBodyBytes) throw contentTooLarge(maxBodyBytes);
  const text = decoded ? decoded.toString('utf8') : raw;
  if (text.trim() === '') return { kind: 'none' };

  // Strict media types: a page on another site can send text/plain, form and multipart bodies
  // without asking the browser's CORS preflight first, so none of them is read as JSON.
  const [essence = '', ...parameters] = (event.headers['content-type'] ?? '').split(';');
  const type = essence.trim().toLowerCase();
  const charset = parameters
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replaceAll('"', '');
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw unsupportedMediaType(`The body is declared as ${charset}; send it as UTF-8`);
  }
  if (YAML_TYPES.has(type)) return { kind: 'yaml', text };
  if (type !== JSON_TYPE) {
    throw unsupportedMediaType(
      type === ''
        ? 'The body has no content-type: send JSON as application/json (a workflow may also be text/yaml)'
        : `The body is ${type}: send JSON as application/json (a workflow may also be text/yaml)`,
    );
  }
  const problem = jsonTextProblem(text, maxDepth);
  if (problem !== undefined) throw badRequest(problem);
  try {
    return { kind: 'json', value: JSON.parse(text) as unknown };
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'not JSON';
    throw badRequest(`The body is not valid JSON: ${reason}`);
  }
}

/**
 * What JSON.parse would accept but the API must not (shared/json-schema/json-text.ts): nesting deeper than
 * `maxDepth`, and a number beyond ±1.8e308; as the answer's detail, with where it is.
 */
export function jsonTextProblem(text: string, maxDepth: number): string | undefined {
  const problem = scanJsonText(text, maxDepth);
  if (problem === undefined) return undefined;
  if (problem.kind === 'depth') {
    return `The body is nested more than ${maxDepth} levels deep (${where(text, problem.at)})`;
  }
  const token = problem.token;
  const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
  return `The body holds the number ${shown} (${where(text, problem.at)}), beyond what a JSON number can hold here (±1.8e308): send it as a string`;
}

function where(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}
