/** The request as routes see it: the API Gateway v2 event plus what the middlewares read from it. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export type ParsedBody = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'yaml'; text: string };

export interface ApiEvent extends APIGatewayProxyEventV2 {
  /** Set by the body parser. */
  parsedBody?: ParsedBody;
  /**
   * Set by the body parser instead of `parsedBody` on raw paths: the bytes as sent (API Gateway's
   * base64 decoded), for routes that verify a signature over them before reading (webhooks).
   */
  rawBody?: Uint8Array;
}

export interface ApiRequest {
  event: ApiEvent;
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: ParsedBody;
}

/**
 * Header names in lower case (API Gateway v2 already does this; local callers may not). Applied
 * once, by the `headerNames` middleware: everything after it reads `event.headers` as is.
 */
export function lowerHeaders(headers: APIGatewayProxyEventV2['headers'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined) out[name.toLowerCase()] = value;
  }
  return out;
}

export function methodOf(event: APIGatewayProxyEventV2): string {
  return (event.requestContext?.http?.method ?? 'GET').toUpperCase();
}

export function pathOf(event: APIGatewayProxyEventV2): string {
  const raw = event.rawPath || event.requestContext?.http?.path || '/';
  return raw.length > 1 && raw.endsWith('/') ? raw.slice(0, -1) : raw;
}

/**
 * Who the caller is, when its credential says: the principal of its API key (api-key-auth.ts puts it
 * where a Lambda authorizer's context goes), or the subject of a JWT authorizer in the cloud.
 */
export function principalOf(event: APIGatewayProxyEventV2): string | undefined {
  const authorizer = (event.requestContext as { authorizer?: Record<string, unknown> }).authorizer;
  const lambda = authorizer?.lambda as { principal?: unknown } | undefined;
  if (typeof lambda?.principal === 'string') return lambda.principal;
  const claims = (authorizer?.jwt as { claims?: Record<string, unknown> } | undefined)?.claims;
  const subject = claims?.email ?? claims?.sub;
  return typeof subject === 'string' ? subject : undefined;
}
