/**
 * The work of the orchestration's Lambda functions, on the storage ports: start a run, advance it
 * (apply its inbox, run ready steps, persist after each, say what the state machine does next),
 * park it on a task token, and deliver signals to it. Written once; the Lambda handlers and the
 * local runtime call these.
 */
import type { WorkflowVersion } from '../definition/schema.js';
import {
  apply,
  childFinishedSignal,
  createRun,
  isFinal,
  nextDeadline,
  redriveRefusal,
} from '../engine/transition.js';
import type { RunState, Signal, Transition } from '../engine/types.js';
import { ConflictError, NotFoundError, StaleCheckpointError } from '../errors.js';
import type { PeopleNotifier } from '../notifications/notifier.js';
import type {
  Executions,
  RunRecord,
  RunStore,
  SignalPutOptions,
  Stores,
  TaskTokens,
} from '../ports/index.js';
import { advanceFailedError } from './advance-failure.js';
import {
  type AdvanceFailure,
  type AdvanceInput,
  type AdvanceOutput,
  type AwaitSignalInput,
  Directive,
  SLEEP_MAX_S,
} from './directive.js';
import type { ExecutorDeps } from './executor.js';
import { RunLoop } from './run-loop.js';
import {
  AdvanceObservation,
  newRunTrace,
  recordAwaitSignal,
  recordRunStart,
  recordSignalDelivery,
} from './run-telemetry.js';

/**
 * Everything the orchestration needs, built by composeOrchestrator (compose.ts): the stores, the
 * state machine's ports, and what carrying out steps needs (one clock, one id source, the services).
 */
export interface OrchestratorDeps extends ExecutorDeps {
  /** The notifier steps use, with what hosts add: retries and the links the outbox shows. */
  notifier?: PeopleNotifier;
  stores: Stores;
  tokens: TaskTokens;
  executions: Executions;
  /** Hand off to a fresh execution after this many state transitions (Step Functions keeps 25,000 events). */
  handoffAfterTransitions?: number;
  /**
   * Work claimed before this time was claimed by a process that is gone: the local server sets its
   * own start (one process per data directory), so a trigger's start that the killed process left
   * half-way is finished by the first redelivery, however young its claim. Unset in the cloud, where
   * a young claim may belong to a Lambda still at work.
   */
  claimsOrphanedBefore?: Date;
}

export interface AdvanceOptions {
  /** How long this Advance may start new work (ms, default 60 s); the Lambda passes its remaining time less a margin. */
  budgetMs: number;
}

const DEFAULT_BUDGET: AdvanceOptions = { budgetMs: 60_000 };

const DEFAULT_HANDOFF_TRANSITIONS = 4_000;

/** The run with this id, or undefined when there is none (a start that never got as far as storing it). */
export function findRun(runs: Pick<RunStore, 'get'>, runId: string): Promise<RunRecord | undefined> {
  return runs.get(runId).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
}

/** The execution name of a run's generation: a repeated start of the same generation is refused by Step Functions. */
export function executionName(runId: string, generation: number): string {
  return generation === 0 ? runId : `${runId}-g${generation}`;
}

/**
 * Redrive N runs in a fresh execution whose generations start at N × this: the state machine names a
 * handoff's execution after its generation (`<run>-g<n>`), so each redrive's executions have names
 * no earlier execution of the run used (a run would need 100,000 handoffs — 400 million state
 * transitions — to reach the next block).
 */
export const REDRIVE_GENERATION_STRIDE = 100_000;

export interface StartRunRequest {
  workflow: WorkflowVersion;
  inputs: unknown;
  profile?: unknown;
  parent?: RunState['parent'];
  trigger?: RunState['trigger'];
  /** The run id; a new one when absent. */
  runId?: string;
  /** The run this one reruns. */
  rerunOf?: string;
}

/**
 * Creates the run already started (its `start` signal applied before it is stored: `run.created`,
 * `run.started` and its first steps dispatched, in one write) and starts its execution, whose
 * Advance runs the dispatched steps as it would after a crash. Every step is idempotent, so a
 * caller that retries after a failure creates nothing twice.
 */
export async function startRun(
  request: StartRunRequest,
  deps: Pick<
    OrchestratorDeps,
    'stores' | 'clock' | 'ids' | 'executions' | 'registry' | 'telemetry' | 'metrics'
  >,
): Promise<RunState> {
  const now = deps.clock.now();
  const created = createRun({
    id: request.runId ?? deps.ids.next('run'),
    workflow: request.workflow,
    inputs: request.inputs,
    ...(request.profile === undefined ? {} : { profile: request.profile }),
    ...(request.parent ? { parent: request.parent } : {}),
    ...(request.rerunOf ? { rerun_of: request.rerunOf } : {}),
    ...(request.trigger ? { trigger: request.trigger } : {}),
    now,
  });
  // Observability: the run's trace is decided now and stored with it (a child's hangs under its step).
  created.state.trace = newRunTrace(deps, request.parent !== undefined);
  const started = apply(request.workflow, created.state, { type: 'start' }, { now, registry: deps.registry });
  const run: Transition = {
    ...started,
    events: [...created.events, ...started.events],
    history: [...created.history, ...started.history],
  };
  const runId = run.state.id;
  let isNew = true;
  try {
    await deps.stores.runs.create(run);
  } catch (error) {
    // A retried start (same run id): the run exists; make sure the rest happened too.
    if (!(error instanceof ConflictError) || request.runId === undefined) throw error;
    isNew = false;
  }
  await deps.executions.start({ run_id: runId, generation: 0 }, executionName(runId, 0));
  if (isNew) recordRunStart(deps, run.state, now);
  return run.state;
}

/**
 * Writes a signal to the run's inbox (accepted once per `signalId`), then wakes the execution if it
 * is parked. The inbox write comes first, so a signal is never lost: if the execution is not parked
 * yet, AwaitSignal finds the signal in the inbox and does not park.
 */
export async function deliverSignal(
  runId: string,
  signalId: string,
  signal: Signal,
  deps: Pick<OrchestratorDeps, 'stores' | 'clock' | 'tokens' | 'telemetry'>,
  options: SignalPutOptions = {},
): Promise<{ accepted: boolean; blocked?: boolean }> {
  const now = deps.clock.now();
  const { accepted, blocked } = await deps.stores.inbox.put(runId, signalId, signal, now, options);
  if (blocked) return { accepted, blocked };
  if (accepted) {
    const { task_token: token, state } = await deps.stores.runs.get(runId);
    if (token) await deps.tokens.complete(token);
    recordSignalDelivery(deps, state, signal, now);
  }
  return { accepted };
}

/** The checkpoint a run is stored at: created and started in one write, before any Advance. */
const STORED_CHECKPOINT = 1;

/**
 * A run that no Advance has committed to yet: its start may have stopped before its execution began
 * (a crash between storing the run and starting the execution), so a repeated start request — the
 * same Idempotency-Key, the same trigger event — finishes it with startRun, which is idempotent per
 * run id. Once an Advance has committed, an execution carries the run, and a start request leaves it.
 */
export function awaitsFirstAdvance(state: RunState): boolean {
  return !isFinal(state.status) && state.checkpoint <= STORED_CHECKPOINT;
}

/**
 * Redrives a failed run (CONTRACT §9): the `redrive` signal goes to the inbox — one per redrive of the
 * run, so concurrent requests compete for it and one wins — and a fresh execution applies it, since
 * the failed run's own execution has ended. The execution is started even when the signal was there
 * already: a retried request after a crash between the two writes finishes the redrive, and a
 * repeated start of the same redrive's execution starts nothing (its name is taken).
 */
export async function redriveRun(
  runId: string,
  by: string | undefined,
  deps: Pick<OrchestratorDeps, 'stores' | 'clock' | 'executions' | 'telemetry'>,
): Promise<{ accepted: boolean; redrive: number }> {
  const { state } = await deps.stores.runs.get(runId);
  const refusal = redriveRefusal(state);
  if (refusal) throw new ConflictError(refusal.message);
  const redrive = (state.redrives ?? 0) + 1;
  const signal: Signal = { type: 'redrive', ...(by ? { by } : {}) };
  const now = deps.clock.now();
  const { accepted } = await deps.stores.inbox.put(runId, `redrive:${redrive}`, signal, now);
  const generation = redrive * REDRIVE_GENERATION_STRIDE;
  await deps.executions.start({ run_id: runId, generation }, executionName(runId, generation));
  if (accepted) recordSignalDelivery(deps, state, signal, now);
  return { accepted, redrive };
}

/**
 * Parks the execution: stores its task token on the run, unless the run moved on meanwhile. If a
 * signal is already waiting in the inbox (it arrived while the wait was being set up), the token is
 * completed at once, so the run never hangs on a signal that came early.
 */
export async function awaitSignal(
  input: AwaitSignalInput,
  deps: Pick<OrchestratorDeps, 'stores' | 'tokens' | 'telemetry'>,
) {
  const startedAt = new Date();
  const runs = deps.stores.runs;
  try {
    await runs.setTaskToken(input.run_id, input.task_token, { ifCheckpoint: input.checkpoint });
  } catch (error) {
    if (!(error instanceof StaleCheckpointError)) throw error;
    // The run was advanced by someone else since: there is something to look at now.
    await deps.tokens.complete(input.task_token);
    return;
  }
  const record = await runs.get(input.run_id);
  const waiting = record.inbox ?? (await deps.stores.inbox.read(input.run_id, record.inbox_cursor, 1));
  if (waiting.length > 0) await deps.tokens.complete(input.task_token);
  recordAwaitSignal(deps, record.state, startedAt);
}

/**
 * One Advance: loads the checkpoint, applies the signals of the inbox (and a timeout from the state
 * machine), carries out the work they allow until every branch waits, the run ends or the budget is
 * spent, persisting after every transition, and returns the next directive. Running steps without a
 * recorded result (a crash, a retried invocation) run again with the same idempotency key; a
 * completed step never runs twice, because its result is in the checkpoint.
 */
export async function advance(
  input: AdvanceInput,
  deps: OrchestratorDeps,
  options: AdvanceOptions = DEFAULT_BUDGET,
): Promise<AdvanceOutput> {
  // Observability: the Advance span ends with the directive (or the error), whichever way Advance ends.
  const observed: { observation?: AdvanceObservation } = {};
  try {
    const answer = input.failure
      ? await abortRun(input, input.failure, deps, observed)
      : await advanceRun(input, deps, options, observed);
    observed.observation?.end(answer);
    return answer;
  } catch (error) {
    observed.observation?.end({ error });
    throw error;
  }
}

/** Abort's Advance starts no work: what the abort leaves to do (compensations) is the next Advance's. */
const NO_BUDGET: AdvanceOptions = { budgetMs: 0 };

/**
 * Abort (advance-failure.ts): the run fails after what its inbox holds. The abort goes through the
 * inbox under one id per Abort (its generation and transition count), so a retried Abort applies
 * it once: applied again, it would give up the compensation the first one started. If applying the
 * inbox is what keeps failing, the abort is applied first instead, and the inbox dropped with the run.
 */
async function abortRun(
  input: AdvanceInput,
  failure: AdvanceFailure,
  deps: OrchestratorDeps,
  observed: { observation?: AdvanceObservation },
): Promise<AdvanceOutput> {
  const abort: Signal = { type: 'abort', error: advanceFailedError(failure) };
  const signalId = `abort:${input.generation}:${input.transitions ?? 0}`;
  await deps.stores.inbox.put(input.run_id, signalId, abort, deps.clock.now());
  try {
    return await advanceRun(input, deps, NO_BUDGET, observed);
  } catch (error) {
    // With no budget, what can fail here is applying the inbox and storing it (or reading the run,
    // which fails the second try as well). A failure that passes between the two tries drops the
    // inbox too; the run has failed, and a redrive asks again what it waits for.
    observed.observation?.end({ error });
    observed.observation = undefined;
    return await advanceRun(input, deps, NO_BUDGET, observed, abort);
  }
}

/**
 * `abortFirst`: applied before anything else, and the inbox is not applied but trimmed (Abort, when
 * applying the inbox kept failing).
 */
async function advanceRun(
  input: AdvanceInput,
  deps: OrchestratorDeps,
  options: AdvanceOptions,
  observed: { observation?: AdvanceObservation },
  abortFirst?: Signal,
): Promise<AdvanceOutput> {
  const { runs, inbox, workflows } = deps.stores;
  const record = await runs.get(input.run_id);
  let state = record.state;
  const out = (directive: Directive, extra: Partial<AdvanceOutput> = {}): AdvanceOutput => ({
    run_id: input.run_id,
    generation: input.generation,
    directive,
    checkpoint: state.checkpoint,
    workflow_id: state.workflow_id,
    workflow_version: state.workflow_version,
    ...(state.trace ? { trace_id: state.trace.trace_id } : {}),
    ...extra,
  });
  if (isFinal(state.status) && !(await redriveWaits(state, record.inbox_cursor, deps))) {
    await notifyParent(state, deps);
    return out(finalDirective(state));
  }
  if (record.task_token) await runs.setTaskToken(input.run_id, undefined);

  const workflow = await workflows.get(state.workflow_id, state.workflow_version);
  let cursor = record.inbox_cursor;
  const observation = new AdvanceObservation(deps, state, input.generation);
  observed.observation = observation;
  try {
    // Read with the run when the store can (DynamoDB: one Query), else on its own.
    const entries = record.inbox ?? (await inbox.read(input.run_id, cursor));
    const inboxSeq = new Map<Signal, number>();
    /** The inbox entries handed to the loop, first and last (trimmed once they are committed). */
    let first = entries[0]?.seq;
    let seen = entries.at(-1)?.seq ?? cursor;
    const loop = new RunLoop(state, {
      workflow,
      executor: observation.executor(deps),
      budgetEndsAt: deps.clock.now().getTime() + options.budgetMs,
      readKept: (output) => runs.readKept(output),
      persist: (transition, signal, steps) => {
        cursor = inboxSeq.get(signal) ?? cursor;
        return runs.commit(transition, { inbox_cursor: cursor, ...(steps ? { steps } : {}) });
      },
      observe: (before, signal) => observation.applying(before, signal),
      committed: (transition) => observation.committed(transition),
      // An Abort applies nothing else: what came meanwhile is for the next Advance.
      ...(abortFirst
        ? {}
        : {
            signalsSince: async () => {
              const news = await inbox.read(input.run_id, seen);
              for (const entry of news) {
                inboxSeq.set(entry.signal, entry.seq);
                observation.received(entry);
              }
              first ??= news[0]?.seq;
              seen = news.at(-1)?.seq ?? seen;
              return news.map((entry) => entry.signal);
            },
          }),
    });
    if (abortFirst) {
      // Its commit moves the inbox cursor past what is dropped.
      const last = entries.at(-1);
      if (last) inboxSeq.set(abortFirst, last.seq);
      loop.deliver(abortFirst);
    } else {
      for (const entry of entries) {
        inboxSeq.set(entry.signal, entry.seq);
        observation.received(entry);
        loop.deliver(entry.signal);
      }
    }
    if (input.signal) loop.deliver(input.signal);
    const result = await loop.run();
    // A refused signal (a resume that raced with another, a stale result) changes nothing, now or
    // later: it is trimmed with the rest, or AwaitSignal would keep waking up for it.
    if (first !== undefined) await inbox.trim(input.run_id, seen, first);
    state = result.state;
    if (isFinal(state.status)) await notifyParent(state, deps);
    const directive = next(state, result.unstarted.length > 0, deps.clock.now());
    const handoffAt = deps.handoffAfterTransitions ?? DEFAULT_HANDOFF_TRANSITIONS;
    if ((input.transitions ?? 0) >= handoffAt && !isFinalDirective(directive.directive)) {
      return out(Directive.handoff);
    }
    return out(directive.directive, directive.extra);
  } catch (error) {
    // Another invocation advanced the run first (a retried Lambda overlapping the first try):
    // the checkpoint holds its work, so this one stops and the state machine asks again.
    if (error instanceof StaleCheckpointError) return out(Directive.continue);
    throw error;
  }
}

/** Is a failed run's redrive waiting in its inbox? Only a failed run's Advance reads the inbox to know. */
async function redriveWaits(state: RunState, cursor: number, deps: OrchestratorDeps): Promise<boolean> {
  if (state.status !== 'failed') return false;
  const entries = await deps.stores.inbox.read(state.id, cursor);
  return entries.some((entry) => entry.signal.type === 'redrive');
}

/** Tells the parent of a child run that it ended (once: the signal id is the child's). */
async function notifyParent(state: RunState, deps: OrchestratorDeps): Promise<void> {
  const parent = state.parent;
  if (!parent) return;
  await deliverSignal(parent.run_id, `child:${state.id}`, childFinishedSignal({ ...state, parent }), deps);
}

function finalDirective(state: RunState): Directive {
  return state.status === 'completed'
    ? Directive.done
    : state.status === 'failed'
      ? Directive.failed
      : Directive.canceled;
}

function isFinalDirective(directive: Directive): boolean {
  return directive === Directive.done || directive === Directive.failed || directive === Directive.canceled;
}

/** What the state machine does with a run that Advance has taken as far as it can. */
function next(
  state: RunState,
  workLeft: boolean,
  now: Date,
): { directive: Directive; extra?: Partial<AdvanceOutput> } {
  if (isFinal(state.status)) return { directive: finalDirective(state) };
  if (workLeft) return { directive: Directive.continue };
  if (state.status === 'paused') return { directive: Directive.await };
  // The loop ran everything it could: what is left waits for a signal or a timer, also while the run
  // is `running` (a compensation waiting to retry). Answering `continue` then would spin.
  const deadline = nextDeadline(state);
  if (deadline === undefined) {
    return { directive: state.status === 'running' ? Directive.continue : Directive.await };
  }
  const seconds = Math.ceil((Date.parse(deadline) - now.getTime()) / 1000);
  if (seconds <= 0) return { directive: Directive.continue };
  const onlyTimers = state.active.every((id) => {
    const step = state.steps[id]!;
    return step.retry_at !== undefined || step.wait?.kind === 'timer';
  });
  if (onlyTimers && seconds <= SLEEP_MAX_S)
    return { directive: Directive.sleep, extra: { sleep_until: deadline } };
  return { directive: Directive.await, extra: { wait_seconds: seconds } };
}
