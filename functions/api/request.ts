/** The request as routes see it: the API Gateway v2 event plus what the middlewares read from it. */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

export type ParsedBody = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'yaml'; text: string };

export interface ApiEvent extends APIGatewayProxyEventV2 {
  /** Set by the body parser. */
  parsedBody?: ParsedBody;
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

/** Header names in lower case (API Gateway v2 already does this; local callers may not). */
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
