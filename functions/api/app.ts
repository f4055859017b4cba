/**
 * The HTTP API of CONTRACT §3 as one middy handler over API Gateway v2 events: a small router,
 * a body parser, API keys, CORS, the local server's Host and Origin checks, and one Problem
 * Details error handler. The HTTP framing is owned here, once: the Lambda entry point and the
 * local server only wire it with their own dependencies.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { ApiDeps } from './deps.js';
import { apiKeyAuth } from './middleware/api-key-auth.js';
import { bodyParser } from './middleware/body-parser.js';
import { cors } from './middleware/cors.js';
import { headerNames } from './middleware/header-names.js';
import { originGuard } from './middleware/origin-guard.js';
import { problemDetails } from './middleware/problem-details.js';
import { docsPage, openApiDocument } from './openapi.js';
import { type ApiEvent, methodOf, pathOf } from './request.js';
import { json } from './response.js';
import { Router } from './router.js';
import { aiRoutes } from './routes/ai.js';
import { artifactRoutes } from './routes/artifacts.js';
import { callbackRoutes } from './routes/callbacks.js';
import { eventRoutes } from './routes/events.js';
import { executionRoutes } from './routes/executions.js';
import { hookRoutes } from './routes/hooks.js';
import { listenerRoutes } from './routes/listeners.js';
import { workflowRoutes } from './routes/workflows.js';

export type { ApiDeps } from './deps.js';

export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** The dependencies, and what only some hosts of the API set. */
export interface ApiOptions extends ApiDeps {
  /**
   * The `Host` values the API answers (`127.0.0.1:3000`, …): set by the local server, which then
   * also refuses requests from origins that are neither its own nor in `corsOrigins` (CONTRACT §5).
   * Read per request, as a server on port 0 learns its port only once it listens.
   */
  hosts?: () => readonly string[];
}

export function createRouter(deps: ApiDeps): Router {
  const router = new Router();
  router.on('GET', '/healthz', async () => json(200, { status: 'ok' }));
  let openapi: string | undefined;
  router.on('GET', '/openapi.json', async () => {
    openapi ??= JSON.stringify(openApiDocument(deps.orchestrator.registry));
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: openapi };
  });
  router.on('GET', '/docs', async () => ({
    statusCode: 200,
    headers: { 'content-type': 'text/html; charset=utf-8' },
    body: docsPage(),
  }));
  workflowRoutes(router, deps);
  executionRoutes(router, deps);
  artifactRoutes(router, deps);
  callbackRoutes(router, deps);
  listenerRoutes(router, deps);
  hookRoutes(router, deps);
  eventRoutes(router, deps);
  aiRoutes(router, deps);
  return router;
}

export function createApi(deps: ApiOptions) {
  const router = createRouter(deps);

  const dispatch = async (event: ApiEvent, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const method = methodOf(event);
    const path = pathOf(event);
    const { route, params } = router.match(method, path);
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
      if (value !== undefined) query[name] = value;
    }
    return route({
      event,
      method,
      path,
      params,
      query,
      // Lower-cased (and without undefined values) once, by the headerNames middleware.
      headers: event.headers as Record<string, string>,
      body: event.parsedBody ?? { kind: 'none' },
    });
  };

  // `before` runs in this order and `onError` in the reverse one: a refusal from any of them still
  // becomes Problem Details, and still gets the CORS headers its origin is allowed.
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(headerNames())
    .use(deps.hosts ? [originGuard({ hosts: deps.hosts, origins: deps.corsOrigins ?? [] })] : [])
    .use(
      cors({
        ...(deps.corsOrigins ? { origins: deps.corsOrigins } : {}),
        methodsFor: (event) => router.methods(pathOf(event)),
      }),
    )
    .use(problemDetails(deps.logger === undefined ? {} : { logger: deps.logger }))
    .use(apiKeyAuth({ keys: deps.apiKeys?.keys }))
    .use(bodyParser({ maxBodyBytes: deps.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES }))
    .handler(dispatch);
}

export type ApiHandler = ReturnType<typeof createApi>;
