/** Lambda entry point of the HTTP API (API Gateway v2, payload 2.0): one redacted JSON log line per request. */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { logger, logRequest } from '../../shared/adapters/logger.js';
import { answerCopies, apiKeys, lambdaOrchestrator } from '../lambda-wiring.js';
import { flushObservability } from '../observability.js';
import { createApi } from './app.js';
import { fitAnswer } from './large-answers.js';
import { traceIdOf } from './request-trace.js';
import { triggerPorts } from './trigger-ports.js';

const orchestratorDeps = lambdaOrchestrator();

let api: Promise<ReturnType<typeof createApi>> | undefined;

export const handler = middy(
  async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const startedAt = performance.now();
    let status = 500;
    let traceId: string | undefined;
    try {
      // Built on the first request of a container: the wiring reads its keys from Secrets Manager.
      api ??= (async () =>
        createApi({
          orchestrator: await orchestratorDeps(),
          apiKeys: { keys: await apiKeys() },
          // EventBridge Scheduler for schedule listeners, PutEvents for POST /v1/events.
          ...triggerPorts,
        }))();
      // An answer over Lambda's 6 MB is a redirect to a copy of it (large-answers.ts).
      const response = await fitAnswer(await (await api)(event, context), answerCopies, {
        method: event.requestContext?.http?.method,
      });
      status = response.statusCode ?? 200;
      traceId = traceIdOf(response.headers);
      return response;
    } finally {
      logRequest(logger, {
        method: event.requestContext?.http?.method ?? 'GET',
        path: event.rawPath ?? event.requestContext?.http?.path ?? '/',
        status,
        startedAt,
        ...(event.requestContext?.requestId ? { correlationId: event.requestContext.requestId } : {}),
        ...(traceId ? { traceId } : {}),
      });
    }
  },
).use([injectLambdaContext(logger, { resetKeys: true }), flushObservability()]);
