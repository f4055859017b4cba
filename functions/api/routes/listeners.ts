/** `/v1/listeners` (triggers that start workflows) and `POST /v1/hooks/{listener_id}` (a webhook starts its workflow). */
import { z } from 'zod';
import { NotFoundError } from '../../../shared/errors.js';
import { ListenerType } from '../../../shared/ports/index.js';
import type { ApiDeps } from '../deps.js';
import { notFound } from '../http-error.js';
import { jsonBody, queryParams } from '../params.js';
import { empty, json } from '../response.js';
import type { Router } from '../router.js';
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

export function listenerRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const { listeners, workflows } = o.stores;

  router.on('GET', '/v1/listeners', async (request) => {
    const page = await listeners.list(queryParams(request, listQuery));
    return json(200, { items: page.items, next_cursor: page.next_cursor ?? null });
  });

  router.on('POST', '/v1/listeners', async (request) => {
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
  });

  router.on('GET', '/v1/listeners/{id}', async (request) =>
    json(200, await listeners.get(request.params.id!)),
  );

  router.on('DELETE', '/v1/listeners/{id}', async (request) => {
    await listeners.delete(request.params.id!);
    return empty(204);
  });

  router.on('POST', '/v1/hooks/{listener_id}', async (request) => {
    const id = request.params.listener_id!;
    const listener = await listeners.get(id).catch((error: unknown) => {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
    if (listener?.type !== 'webhook') throw notFound(`No webhook listener '${id}'`);
    const inputs = jsonBody(request, z.unknown());
    return startExecution(o, request, { workflow_id: listener.workflow_id, inputs }, `hook:${id}:`);
  });
}
