/**
 * Reads the request body once, before any route: enforces the size limit (413), accepts only the
 * declared media types (JSON; YAML kept as text, so the validator can report lines and columns),
 * refuses JSON that nests too deep or holds a number JSON.parse would turn into Infinity, and
 * parses the rest (400 when malformed, never middy's 415).
 */
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MAX_NESTING_DEPTH } from '../../../shared/definition/parse.js';
import { badRequest, HttpError, unsupportedMediaType } from '../http-error.js';
import { type ApiEvent, type ParsedBody, pathOf } from '../request.js';

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
      event.parsedBody = parseBody(event, maxBodyBytes, maxDepth);
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function isNumberChar(char: number): boolean {
  // digits, '+', '-', '.', 'e', 'E'
  return (
    (char >= DIGIT_0 && char <= DIGIT_9) ||
    char === 0x2b ||
    char === MINUS ||
    char === 0x2e ||
    char === 0x65 ||
    char === 0x45
  );
}

/**
 * What JSON.parse would accept but the API must not: nesting deeper than `maxDepth` (the readers
 * after the parser recurse, and 10,000 levels overflow their stack), and a number beyond ±1.8e308,
 * which JSON.parse turns into Infinity and JSON.stringify later into null. One pass over the text
 * with a counter, not a stack, so the check itself cannot overflow; malformed text is left for
 * JSON.parse to describe.
 */
export function jsonTextProblem(text: string, maxDepth: number): string | undefined {
  let depth = 0;
  const length = text.length;
  for (let at = 0; at < length; at++) {
    const char = text.charCodeAt(at);
    if (char === QUOTE) {
      // Skip the string; a backslash escapes the character after it.
      for (at++; at < length; at++) {
        const inner = text.charCodeAt(at);
        if (inner === BACKSLASH) at++;
        else if (inner === QUOTE) break;
      }
    } else if (char === 0x5b || char === 0x7b) {
      depth++;
      if (depth > maxDepth)
        return `The body is nested more than ${maxDepth} levels deep (${where(text, at)})`;
    } else if (char === 0x5d || char === 0x7d) {
      depth--;
    } else if (char === MINUS || (char >= DIGIT_0 && char <= DIGIT_9)) {
      const start = at;
      while (at + 1 < length && isNumberChar(text.charCodeAt(at + 1))) at++;
      const token = text.slice(start, at + 1);
      if (JSON_NUMBER.test(token) && !Number.isFinite(Number(token))) {
        const shown = token.length > 40 ? `${token.slice(0, 40)}…` : token;
        return `The body holds the number ${shown} (${where(text, start)}), beyond what a JSON number can hold here (±1.8e308): send it as a string`;
      }
    }
  }
  return undefined;
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
