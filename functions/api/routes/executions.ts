import { z } from 'zod';
import { sha256Hex } from '../../../shared/crypto.js';
import type { WorkflowVersion } from '../../../shared/definition/schema.js';
import { contextSnapshot } from '../../../shared/engine/context.js';
import { checkRunInputs } from '../../../shared/engine/inputs.js';
import { answerableSteps, isFinal, tryResume } from '../../../shared/engine/transition.js';
import { type AnswerChannel, type RunState, RunStatus, type Signal } from '../../../shared/engine/types.js';
import { ConflictError, ForbiddenError, ValidationError } from '../../../shared/errors.js';
import type { OrchestratorDeps } from '../../../shared/orchestration/orchestrator.js';
import {
  awaitsFirstAdvance,
  executionName,
  findRun,
  redriveRun,
  startRun,
} from '../../../shared/orchestration/orchestrator.js';
import { answerSignalId, controlSignalId } from '../../../shared/orchestration/signal-ids.js';
import type { IdempotencyRecord } from '../../../shared/ports/index.js';
import { sameApprover } from '../../../shared/steps/approval.js';
import { isResumeRefusal } from '../../../shared/steps/types.js';
import { deliverOnce } from '../deliver.js';
import type { ApiDeps } from '../deps.js';
import { CONTEXT, EVENTS, HISTORY, RUN, RUN_ID, RUN_SUMMARY } from '../examples.js';
import { conflict, unprocessable } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { jsonBody, queryParams } from '../params.js';
import { ANSWER_ACCEPTED, runStartedReplies } from '../replies.js';
import { type ApiRequest, principalOf } from '../request.js';
import { type ApiResult, json } from '../response.js';
import type { Router } from '../router.js';
import { runView } from '../run-view.js';
import {
  controlAccepted,
  eventsPage,
  page,
  redriveAccepted,
  runContext,
  runSummary,
  runView as runViewSchema,
  stepExecution,
} from '../schemas.js';

const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_KEY_LENGTH = 256;

export const startBody = z.strictObject({
  workflow_id: z.string().min(1).max(64),
  version: z.number().int().min(1).optional().meta({ description: 'Default: the latest version' }),
  inputs: z.unknown().optional().meta({ description: "Checked against the workflow's `inputs` schema" }),
  profile: z.unknown().optional().meta({ description: 'Caller data, visible to expressions as `profile`' }),
});

/** Cursors are signed positions; no cursor of ours comes near this (the stores refuse longer ones too). */
const MAX_CURSOR_LENGTH = 2048;

/** Strict: an unknown query parameter is 422 (CONTRACT §9). */
export const listQuery = z.strictObject({
  workflow_id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be a workflow id')
    .optional(),
  status: z.enum(Object.values(RunStatus) as [RunStatus, ...RunStatus[]]).optional(),
  created_after: z.iso
    .datetime({ offset: true })
    .optional()
    .meta({ description: 'Runs created strictly after this instant (ISO-8601 with a time zone)' }),
  created_before: z.iso
    .datetime({ offset: true })
    .optional()
    .meta({ description: 'Runs created strictly before this instant (ISO-8601 with a time zone)' }),
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(MAX_CURSOR_LENGTH).optional(),
});

export const eventsQuery = z.strictObject({
  after: z
    .string()
    .min(1)
    .max(MAX_CURSOR_LENGTH)
    .optional()
    .meta({ description: 'A seq (the events after it) or a `next_cursor`' }),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** The answer's own fields are the waiting step type's to check (form inputs, an approval's decision). */
export const resumeBody = z
  .looseObject({
    step_id: z.string().min(1).optional().meta({ description: 'Needed only when several steps wait' }),
  })
  .meta({
    description:
      'A form: `{step_id?, inputs}`. An approval: `{step_id?, decision: approved|rejected, approver, comment?}`.',
  });
export const controlBody = z.strictObject({
  reason: z.string().max(1000).optional(),
  by: z
    .string()
    .max(320)
    .optional()
    .meta({ description: 'Who does it (a key that names a principal acts as it)' }),
});

export const redriveBody = z.strictObject({
  by: z
    .string()
    .max(320)
    .optional()
    .meta({ description: 'Who redrives (a key that names a principal acts as it)' }),
});

/** A rerun: the same workflow, with the original run's inputs and version unless given. */
export const rerunBody = z.strictObject({
  inputs: z.unknown().optional().meta({ description: "Default: the run's inputs" }),
  version: z.number().int().min(1).optional().meta({ description: "Default: the run's version" }),
  profile: z.unknown().optional().meta({ description: "Default: the run's profile" }),
});

const NO_RUN = 'No such run';

const docs = {
  start: {
    operationId: 'startRun',
    tag: 'Executions',
    summary: 'Start a run',
    description:
      'With an `Idempotency-Key`, the same key and body again answer 200 with the same run; the same key ' +
      'with another body is a 409.',
    body: { schema: startBody, example: { workflow_id: 'greeting', inputs: { customer: 'Ada' } } },
    idempotencyKey: true,
    replies: runStartedReplies(),
    refusals: {
      404: 'No such workflow or version',
      409: 'The workflow is retired, or the Idempotency-Key was used with another body',
      422: "The body, the inputs (against the workflow's `inputs` schema) or the Idempotency-Key are not valid",
    },
  },
  list: {
    operationId: 'listRuns',
    tag: 'Executions',
    summary: 'List runs, newest first',
    query: listQuery,
    replies: {
      200: {
        description: 'A page of runs',
        schema: page(runSummary, 'RunPage'),
        example: { items: [RUN_SUMMARY], next_cursor: null },
      },
    },
  },
  get: {
    operationId: 'getRun',
    tag: 'Executions',
    summary: 'Read a run: its status, what it waits for, its output or error',
    replies: { 200: { description: 'The run', schema: runViewSchema, example: RUN } },
    refusals: { 404: NO_RUN },
  },
  history: {
    operationId: 'getRunHistory',
    tag: 'Executions',
    summary: 'The step executions of a run, one per visit',
    replies: { 200: { description: 'The history', schema: z.array(stepExecution), example: HISTORY } },
    refusals: { 404: NO_RUN },
  },
  context: {
    operationId: 'getRunContext',
    tag: 'Executions',
    summary: 'What the expressions of a run see now, secrets redacted',
    replies: { 200: { description: 'The context', schema: runContext, example: CONTEXT } },
    refusals: { 404: NO_RUN },
  },
  events: {
    operationId: 'listRunEvents',
    tag: 'Executions',
    summary: 'The events of a run after a seq or cursor, or a live stream of them',
    description:
      'With `Accept: text/event-stream` (the local server) the answer is a Server-Sent Events stream: the ' +
      'events so far, then each new one, until the run ends; `Last-Event-ID` resumes after a seq.',
    query: eventsQuery,
    replies: {
      200: {
        description: 'A page of events, or the stream',
        schema: eventsPage,
        example: EVENTS,
        alternatives: {
          'text/event-stream':
            'id: 1\nevent: run.created\ndata: {"seq":1,"type":"run.created","at":"2026-01-05T09:30:00.000Z","data":{}}\n\n',
        },
      },
    },
    refusals: { 404: NO_RUN },
  },
  redrive: {
    operationId: 'redriveRun',
    tag: 'Executions',
    summary: 'Continue a failed run from where it stopped; completed steps are not run again',
    description:
      'The steps that failed unhandled or were interrupted are entered again, the steps never reached are ' +
      'pending again. A compensated run, a child run and a run that is not `failed` are refused (409).',
    body: { schema: redriveBody, example: { by: 'ops@example.com' } },
    replies: {
      202: {
        description: 'Redriven: a fresh execution carries the run on',
        schema: redriveAccepted,
        example: { run_id: RUN_ID, redrive: 1, accepted: true },
      },
    },
    refusals: {
      403: 'The API key acts as another principal than `by`',
      404: NO_RUN,
      409: 'The run is not failed, was compensated, is a child run, or another redrive was accepted first',
    },
  },
  rerun: {
    operationId: 'rerunRun',
    tag: 'Executions',
    summary: "Start a new run of the run's workflow, with its inputs and version unless given",
    description:
      'The new run records `rerun_of`. With an `Idempotency-Key`, the same request again answers 200.',
    body: { schema: rerunBody, example: { inputs: { customer: 'Ada' } } },
    idempotencyKey: true,
    replies: runStartedReplies({ started: { ...RUN, rerun_of: 'run_01hzyx' } }),
    refusals: {
      404: 'No such run, or no such version',
      409: 'The workflow is retired, or the Idempotency-Key was used with another body',
      422: "The body or the inputs (against the workflow's `inputs` schema) are not valid",
    },
  },
  resume: {
    operationId: 'resumeRun',
    tag: 'Executions',
    summary: 'Answer a wait: a form or an approval',
    body: { schema: resumeBody, example: { step_id: 'ask', inputs: { email: 'ada@example.com' } } },
    replies: ANSWER_ACCEPTED,
    refusals: {
      403: 'Not an approver of this step, or the API key answers as another principal',
      404: NO_RUN,
      409: 'The run is final, or not waiting there, or another answer (or a cancel) was accepted first',
      422: 'The answer does not fit the wait (form fields, decision)',
    },
  },
} satisfies Record<string, OperationDoc>;

/** pause, unpause and cancel: the same body and answer. */
function controlDoc(type: 'cancel' | 'pause' | 'unpause', summary: string, refused: string): OperationDoc {
  return {
    operationId: `${type}Run`,
    tag: 'Executions',
    summary,
    body: {
      schema: controlBody,
      example: type === 'cancel' ? { reason: 'Customer withdrew', by: 'ops@example.com' } : {},
    },
    replies: {
      202: { description: 'Accepted', schema: controlAccepted, example: { run_id: RUN_ID, accepted: true } },
    },
    refusals: {
      403: 'The API key acts as another principal than `by`',
      404: NO_RUN,
      409:
        type === 'cancel'
          ? `${refused}, or another cancel was accepted first`
          : `${refused}, or another ${type} (or a cancel) was accepted first`,
    },
  };
}

/** Sorted-keys JSON, so `{a, b}` and `{b, a}` are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function executionRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const { runs, workflows } = o.stores;

  router.on(
    'POST',
    '/v1/executions',
    async (request) => startExecution(o, request, jsonBody(request, startBody), ''),
    docs.start,
  );

  router.on(
    'GET',
    '/v1/executions',
    async (request) => {
      const found = await runs.list(queryParams(request, listQuery));
      return json(200, { items: found.items, next_cursor: found.next_cursor ?? null });
    },
    docs.list,
  );

  router.on(
    'GET',
    '/v1/executions/{id}',
    async (request) => {
      const { state } = await runs.get(request.params.id!);
      return json(200, await runView(o, state, { principal: principalOf(request.event) }));
    },
    docs.get,
  );

  router.on(
    'GET',
    '/v1/executions/{id}/history',
    // The store answers NotFound for an unknown run: no need to read the whole run first.
    async (request) => json(200, await runs.history(request.params.id!)),
    docs.history,
  );

  router.on(
    'GET',
    '/v1/executions/{id}/context',
    async (request) => {
      const { state } = await runs.get(request.params.id!);
      const workflow = await workflows.get(state.workflow_id, state.workflow_version);
      return json(200, contextSnapshot(workflow, state));
    },
    docs.context,
  );

  router.on(
    'GET',
    '/v1/executions/{id}/events',
    async (request) => {
      const id = request.params.id!;
      const { after, limit } = queryParams(request, eventsQuery);
      await runs.get(id);
      const position =
        // A seq is a safe integer; longer digit strings are no seq of ours, and fail as a cursor.
        after === undefined ? {} : /^\d{1,15}$/.test(after) ? { after: Number(after) } : { cursor: after };
      const page = await runs.events(id, { ...position, ...(limit ? { limit } : {}) });
      return json(200, { events: page.events, next_cursor: page.next_cursor ?? null });
    },
    docs.events,
  );

  router.on(
    'POST',
    '/v1/executions/{id}/resume',
    async (request) => {
      const id = request.params.id!;
      const { step_id: wanted, ...payload } = jsonBody(request, resumeBody);
      const { state } = await runs.get(id);
      if (isFinal(state.status)) throw conflict(`The run is already ${state.status}`);
      const workflow = await workflows.get(state.workflow_id, state.workflow_version);
      const candidates = answerableSteps(workflow, state, o.registry).map((stepId) => ({
        step_id: stepId,
        visit: state.steps[stepId]!.visit,
      }));
      let target = wanted === undefined ? undefined : candidates.find((w) => w.step_id === wanted);
      if (wanted === undefined) {
        if (candidates.length === 0) throw conflict('The run is not waiting for an answer');
        if (candidates.length > 1) {
          throw conflict(
            `Several steps are waiting (${candidates.map((c) => c.step_id).join(', ')}): give step_id`,
          );
        }
        target = candidates[0];
      }
      if (target === undefined) throw conflict(`Step '${wanted}' is not waiting for an answer`);
      // A caller whose key names a principal answers as that principal only (CONTRACT §8).
      const principal = principalOf(request.event);
      if (principal !== undefined) {
        if (payload.approver !== undefined && !sameApprover(String(payload.approver), principal)) {
          throw new ForbiddenError(`This API key answers as '${principal}' only`);
        }
        if (state.steps[target.step_id]?.wait?.kind === 'approval') payload.approver = principal;
      }
      const { decides } = checkResume(o, workflow, state, target.step_id, payload);
      const approver = typeof payload.approver === 'string' ? payload.approver : principal;
      const signal: Signal = {
        type: 'resume',
        step_id: target.step_id,
        payload,
        ...(approver ? { by: approver } : {}),
        via: answerChannel(request.event.headers),
      };
      // Answers that saw the same wait compete for one inbox id: one is accepted, the others are told.
      await deliverOnce(
        o,
        state,
        answerSignalId(state, target.step_id),
        signal,
        answerTaken(target.step_id, decides),
      );
      return json(202, { run_id: id, step_id: target.step_id, visit: target.visit, accepted: true });
    },
    docs.resume,
  );

  const control = (
    type: 'cancel' | 'pause' | 'unpause',
    doc: OperationDoc,
    allowed: (s: RunState) => string | undefined,
  ) => {
    router.on(
      'POST',
      `/v1/executions/{id}/${type}`,
      async (request) => {
        const id = request.params.id!;
        const body = jsonBody(request, controlBody);
        const { state } = await runs.get(id);
        const refusal = allowed(state);
        if (refusal) throw conflict(refusal);
        const who = actingAs(request, body.by);
        const by = who ? { by: who } : {};
        const signal: Signal =
          type === 'cancel'
            ? { type, ...by, ...(body.reason ? { reason: body.reason } : {}) }
            : { type, ...by };
        // A pause or unpause after an accepted cancel would be dropped by the canceled run: refused.
        await deliverOnce(
          o,
          state,
          controlSignalId(state, type),
          signal,
          `Another ${type} of this run was accepted first`,
        );
        return json(202, { run_id: id, accepted: true });
      },
      doc,
    );
  };
  router.on(
    'POST',
    '/v1/executions/{id}/redrive',
    async (request) => {
      const id = request.params.id!;
      const body = jsonBody(request, redriveBody);
      const { accepted, redrive } = await redriveRun(id, actingAs(request, body.by), o);
      if (!accepted) throw conflict('Another redrive of this run was accepted first');
      return json(202, { run_id: id, redrive, accepted });
    },
    docs.redrive,
  );

  router.on(
    'POST',
    '/v1/executions/{id}/rerun',
    async (request) => {
      const id = request.params.id!;
      const body = jsonBody(request, rerunBody);
      const { state } = await runs.get(id);
      return startExecution(
        o,
        request,
        {
          workflow_id: state.workflow_id,
          version: body.version ?? state.workflow_version,
          inputs: body.inputs ?? state.inputs,
          ...profileOf(body.profile === undefined ? state : body),
          rerun_of: id,
        },
        `rerun:${id}:`,
      );
    },
    docs.rerun,
  );

  control(
    'cancel',
    controlDoc('cancel', 'Cancel a run: the compensations of its completed steps run', 'The run is final'),
    (s) => (isFinal(s.status) ? `The run is already ${s.status}` : undefined),
  );
  control(
    'pause',
    controlDoc(
      'pause',
      'Hold a run: nothing advances until it is released',
      'The run is not running or waiting',
    ),
    (s) =>
      s.status === 'running' || s.status === 'waiting' ? undefined : `A ${s.status} run cannot be paused`,
  );
  control('unpause', controlDoc('unpause', 'Release a held run', 'The run is not paused'), (s) =>
    s.status === 'paused' ? undefined : `The run is not paused (it is ${s.status})`,
  );
}

/**
 * How an API answer came: the console says so with `x-flowrunner-via: console` (a label for the
 * history, not a credential: the key decides what the caller may do).
 */
function answerChannel(headers: Record<string, string | undefined>): AnswerChannel {
  return headers['x-flowrunner-via']?.trim().toLowerCase() === 'console' ? 'console' : 'api';
}

/** Who an operator's action is recorded as: the API key's principal, which may not claim to be someone else. */
function actingAs(request: ApiRequest, claimed: string | undefined): string | undefined {
  const principal = principalOf(request.event);
  if (principal !== undefined && claimed !== undefined && claimed !== principal) {
    throw new ForbiddenError(`This API key acts as '${principal}' only`);
  }
  return principal ?? claimed;
}

/**
 * Runs the step type's `resume` against the wait without changing anything, so a bad answer is
 * refused now (422, 403) instead of being dropped later by the engine. Whether the answer decides the
 * wait on its own, as the wait is now: one approval of several needed does not (`answerTaken`).
 */
export function checkResume(
  o: OrchestratorDeps,
  workflow: WorkflowVersion,
  state: RunState,
  stepId: string,
  payload: unknown,
): { decides: boolean } {
  const outcome = tryResume(workflow, state, stepId, payload, o.registry, o.clock.now());
  if (outcome === undefined) throw new ConflictError(`Step '${stepId}' is not waiting for an answer`);
  if (!isResumeRefusal(outcome)) return { decides: outcome.status !== 'waiting' };
  if (outcome.status === 403) throw new ForbiddenError(outcome.message);
  throw new ValidationError(outcome.message, outcome.issues);
}

/**
 * The 409 of an answer that lost the race for its wait's one inbox id (`answerSignalId`): every
 * answer that saw the same wait competes, so none is told 202 and then dropped. An approval that
 * decides nothing alone lost to another approver's answer, which is being applied: once it is, the
 * step may well wait for this one, so it is asked again (its link is given back).
 */
export function answerTaken(stepId: string, decides: boolean): string {
  return decides
    ? `Another answer to step '${stepId}' was accepted first`
    : `Another answer to step '${stepId}' was accepted first and is being applied; if the step still waits for yours, send it again`;
}

export interface StartRequestBody {
  workflow_id: string;
  version?: number | undefined;
  inputs?: unknown;
  profile?: unknown;
  /** The run this one reruns. */
  rerun_of?: string;
}

/**
 * Starts a run (POST /v1/executions, and /rerun): a retired workflow is a 409, inputs that do
 * not fit are a 422, and with an Idempotency-Key the same request again answers 200 with the same
 * run while the same key with another body is a 409. A key already held is answered from before
 * the request is checked: a retry finds its run even after the workflow was retired or changed, and
 * another body under the key is a 409 whatever it holds. A new key is claimed once the request
 * passed its checks (a refused request holds no key), before anything starts.
 */
export async function startExecution(
  o: OrchestratorDeps,
  request: ApiRequest,
  body: StartRequestBody,
  keyScope: string,
): Promise<ApiResult> {
  const header = idempotencyKeyOf(request);
  const key = header === undefined ? undefined : `${keyScope}${header}`;
  const bodyHash = sha256Hex(canonicalJson(request.body.kind === 'json' ? request.body.value : {}));
  const principal = principalOf(request.event);
  let checked: Promise<{ workflow: WorkflowVersion; inputs: unknown }> | undefined;
  const check = () => {
    checked ??= checkStart(o, body);
    return checked;
  };

  /** The same key again: its run (its start finished if it stopped half-way), or 409 for another body. */
  const again = async (record: IdempotencyRecord): Promise<ApiResult> => {
    if (record.body_hash !== bodyHash)
      throw conflict('This Idempotency-Key was used with another request body');
    const existing = await findRun(o.stores.runs, record.run_id);
    let state: RunState;
    if (existing === undefined) {
      // The first start stopped before its run was stored: it starts now, as it was asked to.
      const { workflow, inputs } = await check();
      state = await startRun(
        { workflow, inputs, ...profileOf(body), ...rerunOf(body), runId: record.run_id },
        o,
      );
    } else {
      // A run no Advance has touched may be one whose execution never started: starting it is idempotent.
      if (awaitsFirstAdvance(existing.state)) {
        await o.executions.start({ run_id: record.run_id, generation: 0 }, executionName(record.run_id, 0));
      }
      state = existing.state;
    }
    return json(200, await runView(o, state, { principal }));
  };

  const now = o.clock.now();
  if (key !== undefined) {
    const held = await o.stores.idempotency.find(key, now);
    if (held !== undefined) return again(held);
  }
  const { workflow, inputs } = await check();
  let runId: string | undefined;
  if (key !== undefined) {
    const claim = await o.stores.idempotency.claim(
      {
        key,
        body_hash: bodyHash,
        run_id: o.ids.next('run'),
        expires_at: new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString(),
      },
      now,
    );
    // Another request with the key claimed it since it was looked up.
    if (!claim.created) return again(claim.record);
    runId = claim.record.run_id;
  }
  const state = await startRun(
    {
      workflow,
      inputs,
      ...profileOf(body),
      ...rerunOf(body),
      ...(runId ? { runId } : {}),
    },
    o,
  );
  return json(202, await runView(o, state, { principal }), {
    location: `/v1/executions/${encodeURIComponent(state.id)}`,
  });
}

/** The workflow a start names, if it may start a run with these inputs (409 retired, 404, 422). */
async function checkStart(
  o: OrchestratorDeps,
  body: StartRequestBody,
): Promise<{ workflow: WorkflowVersion; inputs: unknown }> {
  const workflows = o.stores.workflows;
  const summary = await workflows.summary(body.workflow_id);
  if (summary.retired) throw conflict(`Workflow '${body.workflow_id}' is retired: it starts no new runs`);
  const workflow = await workflows.get(body.workflow_id, body.version);
  const inputs = body.inputs ?? {};
  const issues = checkRunInputs(workflow.definition, inputs);
  if (issues.length > 0) throw unprocessable('The inputs do not fit the workflow', issues);
  return { workflow, inputs };
}

/** The request's Idempotency-Key, if it sent one: blank or too long is a 422, not a key ignored. */
function idempotencyKeyOf(request: ApiRequest): string | undefined {
  const sent = request.headers['idempotency-key'];
  if (sent === undefined) return undefined;
  const header = sent.trim();
  if (header === '') {
    throw unprocessable('The Idempotency-Key is empty', [
      { path: 'Idempotency-Key', message: 'at least 1 character' },
    ]);
  }
  if (header.length > MAX_KEY_LENGTH) {
    throw unprocessable('The Idempotency-Key is too long', [
      { path: 'Idempotency-Key', message: `at most ${MAX_KEY_LENGTH} characters` },
    ]);
  }
  return header;
}

function rerunOf(body: StartRequestBody): { rerunOf?: string } {
  return body.rerun_of === undefined ? {} : { rerunOf: body.rerun_of };
}

function profileOf(body: { profile?: unknown }): { profile?: unknown } {
  return body.profile === undefined ? {} : { profile: body.profile };
}
