/**
 * `/v1/listeners` (CONTRACT §6): triggers that start a workflow. Each change of a schedule listener
 * keeps its `next_fire_at` and tells the host's scheduler (EventBridge Scheduler in the cloud, the
 * scheduler loop on one machine) through the `Schedules` port.
 */
import { z } from 'zod';
import { checkInputsTemplate } from '../../../shared/engine/inputs.js';
import type { ErrorIssue } from '../../../shared/errors.js';
import { NotFoundError } from '../../../shared/errors.js';
import { type Listener, type ListenerDefinition, ListenerType } from '../../../shared/ports/index.js';
import {
  checkListenerMatch,
  checkScheduleFires,
  nextFireOf,
} from '../../../shared/triggers/listener-match.js';
import type { ApiDeps } from '../deps.js';
import { LISTENER } from '../examples.js';
import { conflict, unprocessable } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { jsonBody, queryParams } from '../params.js';
import { empty, json } from '../response.js';
import type { Router } from '../router.js';
import { listener as listenerSchema, page } from '../schemas.js';

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
function checkDefinition(type: ListenerType, body: { match?: unknown; inputs?: unknown }, now: Date): void {
  const issues: ErrorIssue[] = [];
  if (body.match !== undefined) {
    const problems = checkListenerMatch(type, body.match);
    issues.push(...problems);
    if (problems.length === 0 && type === 'schedule') issues.push(...checkScheduleFires(body.match, now));
  }
  if (body.inputs !== undefined && body.inputs !== null) issues.push(...checkInputsTemplate(body.inputs));
  if (issues.length > 0) throw unprocessable(`The ${type} listener is not valid`, issues);
}

const NO_LISTENER = 'No such listener';

const docs = {
  list: {
    operationId: 'listListeners',
    tag: 'Listeners',
    summary: 'List listeners, with what each fired, skipped and failed',
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
    summary:
      'Create a listener: an S3 upload, an EventBridge event, a schedule or a webhook starts the workflow',
    body: {
      schema: createBody,
      example: {
        type: 'schedule',
        workflow_id: 'greeting',
        match: { expression: 'cron(0 9 ? * MON-FRI *)', timezone: 'Europe/Paris' },
      },
    },
    replies: { 201: { description: 'Created', schema: listenerSchema, example: LISTENER } },
    refusals: {
      404: 'No such workflow',
      409: 'A listener with this id exists, or the workflow is retired',
      422: 'The body is not valid: a bad cron, a schedule that never fires (an at() in the past), an unknown pattern operator, an unknown time zone, a secret that is not a placeholder, a version that does not exist',
    },
  },
  get: {
    operationId: 'getListener',
    tag: 'Listeners',
    summary: 'Read a listener',
    replies: { 200: { description: 'The listener', schema: listenerSchema, example: LISTENER } },
    refusals: { 404: NO_LISTENER },
  },
  change: {
    operationId: 'changeListener',
    tag: 'Listeners',
    summary: 'Enable, disable or change a listener',
    body: { schema: changeBody, example: { enabled: false } },
    replies: {
      200: {
        description: 'The listener as it is now',
        schema: listenerSchema,
        example: { ...LISTENER, enabled: false },
      },
    },
    refusals: { 404: NO_LISTENER, 422: 'The change is not valid for this type of listener' },
  },
  delete: {
    operationId: 'deleteListener',
    tag: 'Listeners',
    summary: 'Delete a listener (and its schedule)',
    replies: { 204: { description: 'Deleted' } },
    refusals: { 404: NO_LISTENER },
  },
} satisfies Record<string, OperationDoc>;

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
      checkDefinition(body.type, body, o.clock.now());
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
    'PATCH',
    '/v1/listeners/{id}',
    async (request) => {
      const id = request.params.id!;
      const change = jsonBody(request, changeBody);
      const { type } = await listeners.get(id);
      checkDefinition(type, change, o.clock.now());
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
    },
    docs.change,
  );

  router.on(
    'DELETE',
    '/v1/listeners/{id}',
    async (request) => {
      const id = request.params.id!;
      const { type } = await listeners.get(id);
      // The schedule first: if that fails, the listener is still there and a retried DELETE finishes.
      if (type === 'schedule') await deps.schedules?.remove(id);
      await listeners.delete(id);
      return empty(204);
    },
    docs.delete,
  );
}

/** A listener that is gone answers 404 like an unknown one. */
export async function findListener(deps: ApiDeps, id: string): Promise<Listener | undefined> {
  return deps.orchestrator.stores.listeners.get(id).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
}
