/**
 * The one trigger dispatcher (CONTRACT §6): every source hands it a delivery — the cloud `trigger`
 * function (S3 through EventBridge, EventBridge rules, Scheduler), `POST /v1/hooks/{id}`, and on one
 * machine the local S3 endpoint, the in-process bus and the scheduler loop. It finds the listeners,
 * starts each one's run at most once per event id, and counts what it did on the listener.
 */
import { sha256Hex } from '../crypto.js';
import type { WorkflowVersion } from '../definition/schema.js';
import { checkRunInputs } from '../engine/inputs.js';
import { isFinal } from '../engine/transition.js';
import type { RunState } from '../engine/types.js';
import { FlowrunnerError, NotFoundError } from '../errors.js';
import { MAX_NESTING } from '../expressions/budget.js';
import { render } from '../expressions/index.js';
import { nestedDeeperThan } from '../expressions/json.js';
import type { Listener, TriggerDelivery, TriggerOutcome } from '../ports/index.js';
import type { RunContext } from '../steps/types.js';
import { validateArtifactName } from '../storage/s3/artifact-rules.js';
import { nextFireOf, type ScheduleMatch } from '../triggers/listener-match.js';
import { awaitsFirstAdvance, findRun, type OrchestratorDeps, startRun } from './orchestrator.js';
import { metricsOf, traceTrigger } from './run-telemetry.js';

export type TriggerDeps = Pick<
  OrchestratorDeps,
  'stores' | 'clock' | 'ids' | 'executions' | 'registry' | 'telemetry' | 'metrics' | 'claimsOrphanedBefore'
>;

/**
 * How long a (listener, event id) claim holds. Sources redeliver within hours (EventBridge retries
 * for up to 24 h, Scheduler's retry policy likewise); a week is well beyond any of them.
 */
export const TRIGGER_DEDUPE_MS = 7 * 24 * 60 * 60 * 1000;

/** The decision a claim records, so a redelivery learns what the first delivery did (or meant to do). */
const Decision = { start: 'trigger:start', skip: 'trigger:skip', fail: 'trigger:fail' } as const;

/**
 * A redelivery finishes a start that stopped half-way (the host died between the claim and the run)
 * only once the claim is this old: a younger one belongs to a delivery still under way (20 identical
 * deliveries at once must not start the execution 20 times).
 */
export const TRIGGER_FINISH_AFTER_MS = 30_000;

/** The artifact an S3 object is copied to when it does not make a valid artifact name itself. */
const FALLBACK_ARTIFACT = 'upload';

const OUTCOME_METRIC = {
  started: 'triggers_fired',
  duplicate: 'triggers_deduplicated',
  skipped: 'triggers_skipped',
} as const;

/** triggers_fired, triggers_deduplicated, triggers_skipped (docs/observability.md); a failed fire is on the listener. */
function countOutcomes(deps: TriggerDeps, type: string, outcomes: readonly TriggerOutcome[]): void {
  const metrics = metricsOf(deps);
  if (!metrics.enabled) return;
  for (const { outcome } of outcomes) {
    if (outcome !== 'failed') metrics.count(OUTCOME_METRIC[outcome], { listener_type: type });
  }
}

/** Starts the run of every listener the delivery concerns; one outcome per listener, in listener order. */
export async function deliverTrigger(
  deps: TriggerDeps,
  delivery: TriggerDelivery,
): Promise<TriggerOutcome[]> {
  const listeners = await listenersFor(deps, delivery);
  // Every listener's fire is carried out before a failure of one is thrown: a Lambda that returned
  // early would freeze the others half-way. The redelivery the failure causes starts only what is missing.
  // Each fire is a `trigger <type>` span, which the run it starts links to.
  const settled = await Promise.allSettled(
    listeners.map((listener) => traceTrigger(deps, listener, (traced) => fire(traced, listener, delivery))),
  );
  const failure = settled.find((result) => result.status === 'rejected');
  if (failure) throw failure.reason;
  const outcomes = settled.map((result) => (result as PromiseFulfilledResult<TriggerOutcome>).value);
  countOutcomes(deps, delivery.type, outcomes);
  if (delivery.type === 'schedule') {
    for (const listener of listeners) {
      // The next fire after this one, or after now for a late one (a catch-up after downtime fires
      // once, then the schedule keeps its rhythm): the same rule in the cloud and on one machine.
      const after = Math.max(Date.parse(delivery.scheduled_time) || 0, deps.clock.now().getTime());
      await deps.stores.listeners.setNextFire(listener.id, nextFireOf(listener, new Date(after)));
    }
  }
  return outcomes;
}

async function listenersFor(deps: TriggerDeps, delivery: TriggerDelivery): Promise<Listener[]> {
  const store = deps.stores.listeners;
  switch (delivery.type) {
    case 's3':
      return store.find({ type: 's3', bucket: delivery.bucket, key: delivery.key });
    case 'eventbridge':
      return store.find({ type: 'eventbridge', event: delivery.event });
    case 'schedule':
    case 'webhook': {
      const listener = await store.get(delivery.listener_id).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      // A schedule or hook of a listener deleted (or changed type) since is nobody's any more.
      return listener?.type === delivery.type ? [listener] : [];
    }
  }
}

/** What one fire would do, decided before the claim so that the claim can record it. */
type Plan =
  | { decision: typeof Decision.start; workflow: WorkflowVersion; inputs: unknown }
  | { decision: typeof Decision.skip }
  | { decision: typeof Decision.fail; error: { code: string; message: string } };

async function fire(
  deps: TriggerDeps,
  listener: Listener,
  delivery: TriggerDelivery,
): Promise<TriggerOutcome> {
  const outcome = (value: Omit<TriggerOutcome, 'listener_id'>): TriggerOutcome => ({
    listener_id: listener.id,
    ...value,
  });
  if (!listener.enabled) return outcome({ outcome: 'skipped' });
  const now = deps.clock.now();
  const plan = await planFire(deps, listener, delivery);
  const claim = await deps.stores.idempotency.claim(
    {
      // Hashed: an S3 key alone may be 1,024 bytes, more than an idempotency key holds.
      key: `trigger:${listener.id}:${sha256Hex(delivery.event_id)}`,
      body_hash: plan.decision,
      run_id: deps.ids.next('run'),
      expires_at: new Date(now.getTime() + TRIGGER_DEDUPE_MS).toISOString(),
    },
    now,
  );
  const runId = claim.record.run_id;
  const at = now.toISOString();
  if (!claim.created) {
    // A redelivery. If the first one meant to start a run and stopped half-way, it is finished here.
    const claimedAt = Date.parse(claim.record.expires_at) - TRIGGER_DEDUPE_MS;
    // Old enough that its delivery is over, or made by a process that is gone (claimsOrphanedBefore).
    const orphaned =
      deps.claimsOrphanedBefore !== undefined && claimedAt < deps.claimsOrphanedBefore.getTime();
    const settled = orphaned || now.getTime() - claimedAt >= TRIGGER_FINISH_AFTER_MS;
    if (settled && claim.record.body_hash === Decision.start && plan.decision === Decision.start) {
      const existing = await findRun(deps.stores.runs, runId);
      if (existing === undefined || awaitsFirstAdvance(existing.state)) {
        try {
          await begin(deps, listener, delivery, plan, runId);
        } catch (error) {
          // The first delivery found the object gone and counted the failure: nothing to finish.
          if (error instanceof NotFoundError) return outcome({ outcome: 'duplicate' });
          throw error;
        }
        // The first delivery stopped before it counted (it counts last).
        await deps.stores.listeners.recordFire(listener.id, { outcome: 'started', at, run_id: runId });
      }
      return outcome({ outcome: 'duplicate', run_id: runId });
    }
    if (settled && claim.record.body_hash === Decision.start && !(await findRun(deps.stores.runs, runId))) {
      // A start cut off that is not finished now (the listener no longer starts a run for this
      // event): no run will ever have this id, and none is named.
      return outcome({ outcome: 'duplicate' });
    }
    return outcome({
      outcome: 'duplicate',
      ...(claim.record.body_hash === Decision.start ? { run_id: runId } : {}),
    });
  }
  switch (plan.decision) {
    case Decision.skip:
      await deps.stores.listeners.recordFire(listener.id, { outcome: 'skipped', at });
      return outcome({ outcome: 'skipped' });
    case Decision.fail:
      await deps.stores.listeners.recordFire(listener.id, { outcome: 'failed', at, error: plan.error });
      return outcome({ outcome: 'failed', error: plan.error });
    case Decision.start:
      try {
        await begin(deps, listener, delivery, plan, runId);
      } catch (error) {
        // The uploaded object is gone before it could be copied: nothing to start the run with.
        if (!(error instanceof NotFoundError)) throw error;
        const failure = { code: 'ObjectNotFound', message: error.message };
        await deps.stores.listeners.recordFire(listener.id, { outcome: 'failed', at, error: failure });
        return outcome({ outcome: 'failed', error: failure });
      }
      await deps.stores.listeners.recordFire(listener.id, { outcome: 'started', at, run_id: runId });
      return outcome({ outcome: 'started', run_id: runId });
  }
}

/** Whether each delivery's event is too deep, found once for all the listeners it fires. */
const depthOfDeliveries = new WeakMap<TriggerDelivery, boolean>();

/**
 * Stored as the run's inputs, an event nested deeper than the engine's values may be would overflow
 * every reader after it (an EventBridge event of 256 KB can nest 100,000 levels).
 */
function tooDeep(delivery: TriggerDelivery): boolean {
  let deep = depthOfDeliveries.get(delivery);
  if (deep === undefined) {
    deep = nestedDeeperThan(eventOf(delivery), MAX_NESTING);
    depthOfDeliveries.set(delivery, deep);
  }
  return deep;
}

/**
 * The workflow (pinned version or latest, not retired), the inputs rendered from `{event}` and
 * checked against the workflow's `inputs` schema, and `overlap: skip`. Every refusal here is the
 * listener's or the event's, not the host's: it is recorded as a failed fire, never thrown.
 */
async function planFire(deps: TriggerDeps, listener: Listener, delivery: TriggerDelivery): Promise<Plan> {
  const workflows = deps.stores.workflows;
  let workflow: WorkflowVersion;
  try {
    const summary = await workflows.summary(listener.workflow_id);
    if (summary.retired) return failed('WorkflowRetired', `Workflow '${listener.workflow_id}' is retired`);
    workflow = await workflows.get(listener.workflow_id, listener.version);
  } catch (error) {
    if (error instanceof NotFoundError) return failed('WorkflowNotFound', error.message);
    throw error;
  }
  const event = eventOf(delivery);
  if (tooDeep(delivery)) {
    return failed('InvalidEvent', `The event is nested more than ${MAX_NESTING} levels deep`);
  }
  let inputs: unknown;
  try {
    inputs =
      listener.inputs === undefined
        ? { event }
        : await render(listener.inputs, { event } as unknown as RunContext);
  } catch (error) {
    if (error instanceof FlowrunnerError) return failed(error.code, error.message);
    throw error;
  }
  const issues = checkRunInputs(workflow.definition, inputs ?? {});
  if (issues.length > 0) {
    return failed(
      'InvalidInputs',
      `The inputs do not fit the workflow: ${issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}`,
    );
  }
  if (listener.type === 'schedule' && (listener.match as ScheduleMatch).overlap !== 'allow') {
    if (await stillGoing(deps, listener.last_run_id)) return { decision: Decision.skip };
  }
  return { decision: Decision.start, workflow, inputs: inputs ?? {} };
}

function failed(code: string, message: string): Plan {
  return { decision: Decision.fail, error: { code, message } };
}

async function stillGoing(deps: TriggerDeps, runId: string | undefined): Promise<boolean> {
  if (runId === undefined) return false;
  try {
    return !isFinal((await deps.stores.runs.get(runId)).state.status);
  } catch (error) {
    if (error instanceof NotFoundError) return false;
    throw error;
  }
}

/** Copies an uploaded object into the run's artifacts, then starts the run. Both are safe to repeat. */
async function begin(
  deps: TriggerDeps,
  listener: Listener,
  delivery: TriggerDelivery,
  plan: Extract<Plan, { decision: typeof Decision.start }>,
  runId: string,
): Promise<RunState> {
  if (delivery.type === 's3') {
    await deps.stores.artifacts.copyIn(runId, artifactName(delivery.key), {
      bucket: delivery.bucket,
      key: delivery.key,
      ...(delivery.version_id ? { version_id: delivery.version_id } : {}),
    });
  }
  return startRun(
    {
      workflow: plan.workflow,
      inputs: plan.inputs,
      runId,
      trigger: { listener_id: listener.id, type: listener.type, event_id: delivery.event_id },
    },
    deps,
  );
}

/** The event a run receives (CONTRACT §6). */
export function eventOf(delivery: TriggerDelivery): unknown {
  switch (delivery.type) {
    case 's3':
      return {
        bucket: delivery.bucket,
        key: delivery.key,
        size: delivery.size,
        ...(delivery.etag === undefined ? {} : { etag: delivery.etag }),
        ...(delivery.version_id === undefined ? {} : { version_id: delivery.version_id }),
        artifact: artifactName(delivery.key),
      };
    case 'eventbridge':
      return delivery.event;
    case 'schedule':
      return { scheduled_time: delivery.scheduled_time, listener_id: delivery.listener_id };
    case 'webhook':
      return { headers: delivery.headers, body: delivery.body };
  }
}

/**
 * The artifact an uploaded object becomes: its file name, the key's last part (`GET
 * /v1/executions/{id}/artifacts/report.csv`), or `upload` when that is no valid artifact name.
 */
export function artifactName(key: string): string {
  const name = key.split('/').at(-1) ?? '';
  try {
    validateArtifactName(name);
    return name;
  } catch {
    return FALLBACK_ARTIFACT;
  }
}
