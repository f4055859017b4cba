/** `api_call`: one HTTP request, guarded against SSRF, with an idempotency key per visit. */
import { z } from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import { templated } from '../definition/schema.js';
import { type ErrorIssue, StepError } from '../errors.js';
import { MAX_NESTING } from '../expressions/budget.js';
import { scanJsonText } from '../json-schema/json-text.js';
import { HttpErrorCode } from '../net/http-errors.js';
import { checkRequestUrl } from '../net/ssrf.js';
import type { HttpResponse } from '../ports/index.js';
import { hasPlaceholder, renderedNumber } from './rendered.js';
import { defineStepType } from './types.js';

/** Reason phrases for messages, as node:http's STATUS_CODES has them (steps import no `node:` module). */
const STATUS_CODES: Readonly<Record<number, string>> = {
  100: 'Continue',
  101: 'Switching Protocols',
  102: 'Processing',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  207: 'Multi-Status',
  208: 'Already Reported',
  226: 'IM Used',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  418: "I'm a Teapot",
  421: 'Misdirected Request',
  422: 'Unprocessable Entity',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  509: 'Bandwidth Limit Exceeded',
  510: 'Not Extended',
  511: 'Network Authentication Required',
};

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** A header or query value: YAML writes `X-Api-Version: 2` as a number, and it is sent as text. */
const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const apiCallConfig = z
  .object({
    method: z.enum(HTTP_METHODS).default('GET'),
    base_url: z
      .string()
      .max(2048)
      .optional()
      .meta({ description: 'Usually set by a service; `url` is relative to it.' }),
    url: z.string().min(1).max(8192).meta({
      description: 'Joined to `base_url` unless it is absolute (`https://…`), in which case it wins.',
    }),
    headers: z
      .record(z.string(), scalar)
      .optional()
      .meta({ description: 'Names are case-insensitive; values may not hold line breaks.' }),
    query: z.record(z.string(), scalar).optional().meta({ description: 'Appended to the URL, URL-encoded.' }),
    body: z
      .unknown()
      .optional()
      .meta({ description: 'A string is sent as it is; anything else as JSON. `null` sends no body.' }),
    timeout_s: templated(z.number().positive().max(900)).default(30),
    expect: z
      .array(z.union([z.int().min(100).max(599), z.string().regex(/^[1-5](xx|\d\d)$/)]))
      .min(1)
      .optional()
      .meta({ description: 'Statuses that count as success, e.g. [200, "2xx", 404]; default 2xx.' }),
    max_response_bytes: z.int().min(1).max(10_485_760).default(1_048_576),
  })
  .strict();
export type ApiCallConfig = z.infer<typeof apiCallConfig>;

export const API_CALL_USER_AGENT = `flowrunner/${packageJson.version}`;
const DEFAULT_EXPECT = ['2xx'] as const;
const EXCERPT_CHARS = 200;
/** RFC 9110 token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ABSOLUTE_URL = /^[a-z][a-z\d+.-]*:\/\//i;

export const apiCall = defineStepType({
  type: 'api_call',
  description: 'Calls an HTTP API; outcome `success`. 429, 5xx and network errors can be retried.',
  config: apiCallConfig,
  action: true,
  outcomes: () => ['success'],
  // What is written without placeholders is checked when the workflow is, as a run would find it:
  // a url that cannot be one (`ftp://…`, `https://user:pw@…`), a header name with a space.
  check: (config) => {
    const issues: ErrorIssue[] = [];
    const urlParts = [config.url, config.base_url, ...Object.values(config.query ?? {})];
    // A relative url without base_url is left to the run: its service may be the problem (unknown).
    const joinable = config.base_url !== undefined || ABSOLUTE_URL.test(config.url);
    if (joinable && !urlParts.some(hasPlaceholder)) issues.push(...refusal('url', () => requestUrl(config)));
    const headers = Object.entries(config.headers ?? {}).filter(([, value]) => !hasPlaceholder(value));
    issues.push(...refusal('headers', () => requestHeaders(Object.fromEntries(headers))));
    return issues;
  },
  execute: async (ctx) => {
    const { config } = ctx;
    const url = requestUrl(config);
    const headers = requestHeaders(config.headers);
    let body: string | undefined;
    if (typeof config.body === 'string') {
      body = config.body;
      headers['content-type'] ??= 'text/plain; charset=utf-8';
    } else if (config.body !== undefined && config.body !== null) {
      body = JSON.stringify(config.body);
      headers['content-type'] ??= 'application/json';
    }
    headers['user-agent'] ??= API_CALL_USER_AGENT;
    // CONTRACT §2: side effects are at-least-once, so the key is ours and a configured one is replaced.
    headers['idempotency-key'] = ctx.idempotencyKey;

    const timeoutS = renderedNumber(config.timeout_s, 'timeout_s', { min: 0, exclusiveMin: true, max: 900 });
    const response = await ctx.deps.http.request({
      method: config.method,
      url,
      headers,
      body,
      timeoutMs: Math.min(timeoutS * 1000, ctx.timeoutMs ?? Number.POSITIVE_INFINITY),
      maxResponseBytes: config.max_response_bytes,
      allowPrivateNetwork: ctx.deps.allowPrivateNetwork,
      allowLoopback: ctx.deps.allowLoopback,
      signal: ctx.signal,
    });
    const expect = config.expect ?? DEFAULT_EXPECT;
    if (!expect.some((pattern) => statusMatches(response.status, pattern))) {
      throw unexpectedStatus(config.method, url, response, expect, ctx.deps.clock.now(), (text) =>
        ctx.redact(text),
      );
    }
    return {
      status: 'completed',
      outcome: 'success',
      output: { status: response.status, headers: response.headers, body: responseBody(response) },
    };
  },
});

/** `base_url` and `url` joined with exactly one slash, then `query` appended to what is there. */
function requestUrl(config: ApiCallConfig): string {
  let raw: string;
  if (ABSOLUTE_URL.test(config.url)) {
    raw = config.url;
    // The headers of a service (its token) belong to its base_url: an absolute url may not take them elsewhere.
    if (config.base_url !== undefined && originOf(raw) !== originOf(config.base_url)) {
      throw new StepError(
        HttpErrorCode.targetForbidden,
        `url ${originOf(raw) ?? JSON.stringify(config.url)} is not on base_url ${originOf(config.base_url) ?? config.base_url}: with a base_url (or a service), an absolute url must keep its origin`,
        { retryable: false },
      );
    }
  } else if (config.base_url !== undefined) {
    raw = `${config.base_url.replace(/\/+$/, '')}/${config.url.replace(/^\/+/, '')}`;
  } else {
    throw new StepError(
      HttpErrorCode.invalidUrl,
      `url ${JSON.stringify(config.url)} is relative and the step has no base_url (set one here or on its service)`,
      { retryable: false },
    );
  }
  const url = checkRequestUrl(raw);
  const query = Object.entries(config.query ?? {})
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    .join('&');
  // Appending to `search` keeps an existing query byte for byte (URLSearchParams would re-encode it).
  if (query !== '') url.search = url.search === '' ? query : `${url.search}&${query}`;
  return url.href;
}

/** The message of the StepError that `attempt` throws, as a validation problem at `path`. */
function refusal(path: string, attempt: () => unknown): ErrorIssue[] {
  try {
    attempt();
    return [];
  } catch (error) {
    if (!(error instanceof StepError)) throw error;
    const header = (error.details as { header?: string } | undefined)?.header;
    return [{ path: header === undefined ? path : `${path}.${header}`, message: error.message }];
  }
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/** Lower-cased names; a line break in a value would start a header of its own, so it is refused. */
function requestHeaders(given: ApiCallConfig['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given ?? {})) {
    if (!HEADER_NAME.test(name)) {
      throw new StepError(
        'InvalidHeader',
        `header name ${JSON.stringify(name)} is not a valid HTTP header name`,
        {
          retryable: false,
          details: { header: name },
        },
      );
    }
    const text = String(value);
    // The value is never quoted: it may hold a secret.
    if (/[\r\n\0]/.test(text)) {
      throw new StepError(
        'InvalidHeader',
        `the value of header ${name} holds a line break or NUL character, which could inject headers`,
        { retryable: false, details: { header: name } },
      );
    }
    headers[name.toLowerCase()] = text;
  }
  return headers;
}

function statusMatches(status: number, pattern: number | string): boolean {
  if (typeof pattern === 'number') return status === pattern;
  if (pattern.endsWith('xx')) return Math.floor(status / 100) === Number(pattern[0]);
  return status === Number(pattern);
}

/**
 * A status outside `expect`. CONTRACT §1: 429 and 5xx may be retried, anything else may not. The
 * message names the request without its query (where API keys tend to live) and quotes a short
 * piece of the body, which usually says what went wrong.
 */
function unexpectedStatus(
  method: string,
  url: string,
  response: HttpResponse,
  expect: readonly (number | string)[],
  now: Date,
  redact: (text: string) => string,
): StepError {
  const { status } = response;
  const target = new URL(url);
  const reason = STATUS_CODES[status] === undefined ? '' : ` ${STATUS_CODES[status]}`;
  // Redacted whole, before it is cut and its spaces collapsed: a secret the service echoes back
  // (a header, the request body) would no longer match once cut in two or reshaped.
  const excerpt = bodyExcerpt(redact(response.body));
  const message =
    `${method} ${target.origin}${target.pathname} answered ${status}${reason} (expected ${expect.join(', ')})` +
    (excerpt === '' ? '' : `: ${excerpt}`);
  const details: Record<string, unknown> = { status };
  if (status === 429 || status === 503) {
    const retryAfter = retryAfterSeconds(response.headers['retry-after'], now);
    if (retryAfter !== undefined) details.retry_after_s = retryAfter;
  }
  return new StepError('HttpError', message, { retryable: status === 429 || status >= 500, details });
}

function bodyExcerpt(body: string): string {
  const text = body
    .slice(0, EXCERPT_CHARS * 4)
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS)}…` : text;
}

/** `Retry-After` is either seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterSeconds(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

/**
 * JSON when the content type says so (`application/json`, `…+json`) and it parses; text otherwise.
 * A body that nests more than MAX_NESTING levels deep (the bound of the values expressions build)
 * fails the step, found in one pass before it is parsed: stored, such JSON overflowed the stack of
 * every reader after it and the run could not be advanced; and parsing 8 MiB of brackets took 1 s
 * and 0.26 GB.
 */
function responseBody(response: HttpResponse): unknown {
  const mediaType = (response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const isJson = mediaType === 'application/json' || mediaType.endsWith('+json');
  if (!isJson || response.body === '') return response.body;
  if (scanJsonText(response.body, MAX_NESTING, { numbers: false }) !== undefined) {
    throw new StepError(
      HttpErrorCode.responseTooDeep,
      `the response body nests more than ${MAX_NESTING} levels deep`,
      { retryable: false, details: { max_depth: MAX_NESTING } },
    );
  }
  try {
    return JSON.parse(response.body);
  } catch {
    return response.body;
  }
}
