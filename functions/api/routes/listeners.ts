/** `/v1/listeners` (triggers that start workflows) and `POST /v1/hooks/{listener_id}` (a webhook starts its workflow). */
import { z } from 'zod';
import { NotFoundError } from '../../../shared/errors.js';
import { ListenerType } from '../../../shared/ports/index.js';
import type { ApiDeps } from '../deps.js';
import { LISTENER, RUN } from '../examples.js';
import { notFound } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { jsonBody, queryParams } from '../params.js';
import { empty, json } from '../response.js';
import type { Router } from '../router.js';
import { listener as listenerSchema, page, runView } from '../schemas.js';
import { startExecution } from './executions.js';

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

export const createBody = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/)
    .optional(),
  type: z.enum(Object.values(ListenerType) as [ListenerType, ...ListenerType[]]),
  workflow_id: z.string().min(1).max(64),
  match: z.record(z.string(), z.unknown()).default({}),
});

/** A webhook's body becomes the run's inputs. */
const hookBody = z.unknown().meta({ description: "The run's inputs" });

const docs = {
  list: {
    operationId: 'listListeners',
    tag: 'Listeners',
    summary: 'List listeners',
    query: listQuery,
    replies: {
      200: {
        description: 'A page of listeners',
        schema: page(listenerSchema, 'ListenerPage'),
        example: { items: [LISTENER], next_cursor: null },
      },
    },
  },
  create: {
    operationId: 'createListener',
    tag: 'Listeners',
    summary: 'Create a listener',
    body: { schema: createBody, example: { id: 'greeting-hook', type: 'webhook', workflow_id: 'greeting' } },
    replies: { 201: { description: 'Created', schema: listenerSchema, example: LISTENER } },
    refusals: {
      404: 'No such workflow',
      409: 'A listener with this id exists',
      422: 'The body is not valid',
    },
  },
  get: {
    operationId: 'getListener',
    tag: 'Listeners',
    summary: 'Read a listener',
    replies: { 200: { description: 'The listener', schema: listenerSchema, example: LISTENER } },
    refusals: { 404: 'No such listener' },
  },
  delete: {
    operationId: 'deleteListener',
    tag: 'Listeners',
    summary: 'Delete a listener',
    replies: { 204: { description: 'Deleted' } },
    refusals: { 404: 'No such listener' },
  },
  hook: {
    operationId: 'fireWebhook',
    tag: 'Listeners',
    summary: 'A webhook listener starts its workflow',
    body: { schema: hookBody, example: { customer: 'Ada' } },
    idempotencyKey: true,
    replies: {
      200: { description: 'The same delivery again: the run it started', schema: runView, example: RUN },
      202: { description: 'Started', schema: runView, example: RUN },
    },
    refusals: {
      404: 'No such webhook listener, or its workflow is gone',
      409: 'The workflow is retired, or the Idempotency-Key was used with another body',
      422: "The inputs do not fit the workflow's `inputs` schema",
    },
  },
} satisfies Record<string, OperationDoc>;

export function listenerRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const { listeners, workflows } = o.stores;

  router.on(
    'GET',
    '/v1/listeners',
    async (request) => {
      const page = await listeners.list(queryParams(request, listQuery));
      return json(200, { items: page.items, next_cursor: page.next_cursor ?? null });
    },
    docs.list,
  );

  router.on(
    'POST',
    '/v1/listeners',
    async (request) => {
      const body = jsonBody(request, createBody);
      await workflows.summary(body.workflow_id);
      const listener = {
        id: body.id ?? o.ids.next('listener'),
        type: body.type,
        workflow_id: body.workflow_id,
        match: body.match,
        created_at: o.clock.now().toISOString(),
      };
      await listeners.create(listener);
      return json(201, listener, { location: `/v1/listeners/${encodeURIComponent(listener.id)}` });
    },
    docs.create,
  );

  router.on(
    'GET',
    '/v1/listeners/{id}',
    async (request) => json(200, await listeners.get(request.params.id!)),
    docs.get,
  );

  router.on(
    'DELETE',
    '/v1/listeners/{id}',
    async (request) => {
      await listeners.delete(request.params.id!);
      return empty(204);
    },
    docs.delete,
  );

  router.on(
    'POST',
    '/v1/hooks/{listener_id}',
    async (request) => {
      const id = request.params.listener_id!;
      const listener = await listeners.get(id).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      if (listener?.type !== 'webhook') throw notFound(`No webhook listener '${id}'`);
      const inputs = jsonBody(request, hookBody);
      return startExecution(o, request, { workflow_id: listener.workflow_id, inputs }, `hook:${id}:`);
    },
    docs.hook,
  );
}
