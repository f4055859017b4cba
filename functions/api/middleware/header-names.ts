/**
 * Lower-cases header names once, first of all, so every later middleware and route reads
 * `event.headers.name` directly. API Gateway v2 already sends them so; other callers may not.
 */
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { type ApiEvent, lowerHeaders } from '../request.js';

export function headerNames(): middy.MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const headerNamesBefore: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (
    request,
  ) => {
    request.event.headers = lowerHeaders(request.event.headers);
  };
  return { before: headerNamesBefore };
}
