/**
 * Answers CORS preflights and adds `access-control-allow-origin` to every answer, errors included,
 * for the allowed origins only (the local server passes FLOWRUNNER_CORS_ORIGINS, empty by default).
 */
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type ApiEvent, methodOf } from '../request.js';

export interface CorsOptions {
  /** Allowed origins; `*` allows any. */
  origins?: string[];
  /** The methods a path answers, for `access-control-allow-methods`. */
  methodsFor?: (event: ApiEvent) => string[];
  maxAgeS?: number;
}

const defaults: Required<Omit<CorsOptions, 'methodsFor'>> & Pick<CorsOptions, 'methodsFor'> = {
  origins: ['*'],
  maxAgeS: 600,
};

const ALLOWED_HEADERS =
  'authorization, content-type, idempotency-key, x-api-key, accept, last-event-id, x-flowrunner-via';

export function cors(
  options: CorsOptions = {},
): middy.MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const { origins, methodsFor, maxAgeS } = { ...defaults, ...options };

  const originHeaders = (event: ApiEvent): Record<string, string> => {
    if (origins.includes('*')) return { 'access-control-allow-origin': '*' };
    // The answer depends on the Origin from here on, allowed or not: caches must keep them apart.
    const origin = event.headers.origin;
    if (origin === undefined || !origins.includes(origin)) return { vary: 'Origin' };
    return { 'access-control-allow-origin': origin, vary: 'Origin' };
  };

  const addHeaders = (request: middy.Request<ApiEvent, APIGatewayProxyStructuredResultV2>) => {
    const response = request.response;
    if (response === undefined || response === null) return;
    response.headers = { ...(response.headers ?? {}), ...originHeaders(request.event) };
  };

  const corsBefore: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (request) => {
    if (methodOf(request.event) !== 'OPTIONS') return;
    const methods = methodsFor?.(request.event);
    // A path that answers no method is unknown: the router answers it 404, as for any other method.
    if (methods?.length === 0) return;
    const allow = [...(methods ?? []), 'OPTIONS'].join(', ');
    return {
      statusCode: 204,
      headers: {
        ...originHeaders(request.event),
        allow,
        'access-control-allow-methods': allow,
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': String(maxAgeS),
      },
      body: '',
    };
  };

  const corsAfter: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (request) => {
    addHeaders(request);
  };

  const corsOnError: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (request) => {
    addHeaders(request);
  };

  return { before: corsBefore, after: corsAfter, onError: corsOnError };
}
