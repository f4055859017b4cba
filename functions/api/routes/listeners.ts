/**
 * `/v1/listeners` (CONTRACT §6): triggers that start a workflow. Each change of a schedule listener
 * keeps its `next_fire_at` and tells the host's scheduler (EventBridge Scheduler in the cloud, the
 * scheduler loop on one machine) through the `Schedules` port.
 */
import { z } from 'zod';
import type { ErrorIssue } from '../../../shared/errors.js';
import { NotFoundError } from '../../../shared/errors.js';
import { type Listener, type ListenerDefinition, ListenerType } from '../../../shared/ports/index.js';
import {
  checkInputsTemplate,
  checkListenerMatch,
  nextFireOf,
} from '../../../shared/triggers/listener-match.js';
import type { ApiDeps } from '../deps.js';
import { conflict, unprocessable } from '../http-error.js';
import { jsonBody, queryParams } from '../params.js';
import { empty, json } from '../response.js';
import type { Router } from '../router.js';

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

const match = z.record(z.string(), z.unknown());

export const createBody = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be 1 to 64 lower-case letters, digits, _ or -')
    .optional(),
  type: z.enum(Object.values(ListenerType) as [ListenerType, ...ListenerType[]]),
  workflow_id: z.string().min(1).max(64),
  version: z.number().int().min(1).optional(),
  match: match.default({}),
  /** A template rendered against `{event}` into the run's inputs. */
  inputs: z.unknown().optional(),
  enabled: z.boolean().default(true),
});

export const changeBody = z.strictObject({
  enabled: z.boolean().optional(),
  match: match.optional(),
  /** `null` removes the template: the run gets `{event}`. */
  inputs: z.unknown().optional(),
});

/** The type-specific checks zod's structure cannot express: the match per type, the inputs template. */
function checkDefinition(type: ListenerType, body: { match?: unknown; inputs?: unknown }): void {
  const issues: ErrorIssue[] = [];
  if (body.match !== undefined) issues.push(...checkListenerMatch(type, body.match));
  if (body.inputs !== undefined && body.inputs !== null) issues.push(...checkInputsTemplate(body.inputs));
  if (issues.length > 0) throw unprocessable(`The ${type} listener is not valid`, issues);
}

export function listenerRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const { listeners, workflows } = o.stores;

  /**
   * Keeps next_fire_at and the host's schedule in step with the listener just written. A PATCH whose
   * schedule could not be kept answers the error; the same PATCH again puts it right (upsert).
   */
  async function scheduled(listener: Listener): Promise<Listener> {
    if (listener.type !== 'schedule') return listener;
    const next = nextFireOf(listener, o.clock.now());
    await listeners.setNextFire(listener.id, next);
    const current = { ...listener };
    if (next === undefined) delete current.next_fire_at;
    else current.next_fire_at = next;
    await deps.schedules?.upsert(current);
    return current;
  }

  router.on('GET', '/v1/listeners', async (request) => {
    const page = await listeners.list(queryParams(request, listQuery));
    return json(200, { items: page.items, next_cursor: page.next_cursor ?? null });
  });

  router.on('POST', '/v1/listeners', async (request) => {
    const body = jsonBody(request, createBody);
    checkDefinition(body.type, body);
    const summary = await workflows.summary(body.workflow_id);
    if (summary.retired) throw conflict(`Workflow '${body.workflow_id}' is retired: it starts no new runs`);
    if (body.version !== undefined && body.version > summary.latest_version) {
      throw unprocessable('The pinned version does not exist', [
        {
          path: 'version',
          message: `workflow '${body.workflow_id}' has versions 1 to ${summary.latest_version}`,
        },
      ]);
    }
    const now = o.clock.now().toISOString();
    const definition: ListenerDefinition = {
      id: body.id ?? o.ids.next('listener'),
      type: body.type,
      workflow_id: body.workflow_id,
      ...(body.version === undefined ? {} : { version: body.version }),
      match: body.match,
      ...(body.inputs === undefined ? {} : { inputs: body.inputs }),
      enabled: body.enabled,
      created_at: now,
      updated_at: now,
    };
    const created = await listeners.create(definition);
    let listener: Listener;
    try {
      listener = await scheduled(created);
    } catch (error) {
      // No listener without its schedule: the caller's retry of the POST must not meet a 409.
      await listeners.delete(created.id).catch(() => undefined);
      throw error;
    }
    return json(201, listener, { location: `/v1/listeners/${encodeURIComponent(listener.id)}` });
  });

  router.on('GET', '/v1/listeners/{id}', async (request) =>
    json(200, await listeners.get(request.params.id!)),
  );

  router.on('PATCH', '/v1/listeners/{id}', async (request) => {
    const id = request.params.id!;
    const change = jsonBody(request, changeBody);
    const { type } = await listeners.get(id);
    checkDefinition(type, change);
    const listener = await listeners.update(
      id,
      {
        ...(change.enabled === undefined ? {} : { enabled: change.enabled }),
        ...(change.match === undefined ? {} : { match: change.match }),
        ...(change.inputs === undefined ? {} : { inputs: change.inputs }),
      },
      o.clock.now(),
    );
    return json(200, await scheduled(listener));
  });

  router.on('DELETE', '/v1/listeners/{id}', async (request) => {
    const id = request.params.id!;
    const { type } = await listeners.get(id);
    // The schedule first: if that fails, the listener is still there and a retried DELETE finishes.
    if (type === 'schedule') await deps.schedules?.remove(id);
    await listeners.delete(id);
    return empty(204);
  });
}

/** A listener that is gone answers 404 like an unknown one. */
export async function findListener(deps: ApiDeps, id: string): Promise<Listener | undefined> {
  return deps.orchestrator.stores.listeners.get(id).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
}
