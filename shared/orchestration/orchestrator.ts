/**
 * The work of the orchestration's Lambda functions, on the storage ports: start a run, advance it
 * (apply its inbox, run ready steps, persist after each, say what the state machine does next),
 * park it on a task token, and deliver signals to it. Written once; the Lambda handlers and the
 * local runtime call these.
 */
import type { WorkflowVersion } from '../definition/schema.js';
import { apply, childFinishedSignal, createRun, isFinal, nextDeadline } from '../engine/transition.js';
import type { RunState, Signal, Transition } from '../engine/types.js';
import { ConflictError, StaleCheckpointError } from '../errors.js';
import type { Executions, Stores, TaskTokens, WorkflowStore } from '../ports/index.js';
import {
  type AdvanceInput,
  type AdvanceOutput,
  type AwaitSignalInput,
  Directive,
  SLEEP_MAX_S,
} from './directive.js';
import type { ExecutorDeps } from './executor.js';
import { RunLoop } from './run-loop.js';

/**
 * Everything the orchestration needs, built by composeOrchestrator (compose.ts): the stores, the
 * state machine's ports, and what carrying out steps needs (one clock, one id source, the services).
 */
export interface OrchestratorDeps extends ExecutorDeps {
  stores: Stores;
  tokens: TaskTokens;
  executions: Executions;
  /** Hand off to a fresh execution after this many state transitions (Step Functions keeps 25,000 events). */
  handoffAfterTransitions?: number;
}

export interface AdvanceOptions {
  /** How long this Advance may start new work (ms, default 60 s); the Lambda passes its remaining time less a margin. */
  budgetMs: number;
}

const DEFAULT_BUDGET: AdvanceOptions = { budgetMs: 60_000 };

const DEFAULT_HANDOFF_TRANSITIONS = 4_000;

/** The execution name of a run's generation: a repeated start of the same generation is refused by Step Functions. */
export function executionName(runId: string, generation: number): string {
  return generation === 0 ? runId : `${runId}-g${generation}`;
}

export interface StartRunRequest {
  workflow: WorkflowVersion;
  inputs: unknown;
  profile?: unknown;
  parent?: RunState['parent'];
  /** The run id; a new one when absent. */
  runId?: string;
}

/**
 * Creates the run already started (its `start` signal applied before it is stored: `run.created`,
 * `run.started` and its first steps dispatched, in one write) and starts its execution, whose
 * Advance runs the dispatched steps as it would after a crash. Every step is idempotent, so a
 * caller that retries after a failure creates nothing twice.
 */
export async function startRun(
  request: StartRunRequest,
  deps: Pick<OrchestratorDeps, 'stores' | 'clock' | 'ids' | 'executions' | 'registry'>,
): Promise<RunState> {
  const now = deps.clock.now();
  const created = createRun({
    id: request.runId ?? deps.ids.next('run'),
    workflow: request.workflow,
    inputs: request.inputs,
    ...(request.profile === undefined ? {} : { profile: request.profile }),
    ...(request.parent ? { parent: request.parent } : {}),
    now,
  });
  const started = apply(request.workflow, created.state, { type: 'start' }, { now, registry: deps.registry });
  const run: Transition = {
    ...started,
    events: [...created.events, ...started.events],
    history: [...created.history, ...started.history],
  };
  const runId = run.state.id;
  try {
    await deps.stores.runs.create(run);
  } catch (error) {
    // A retried start (same run id): the run exists; make sure the rest happened too.
    if (!(error instanceof ConflictError) || request.runId === undefined) throw error;
  }
  await deps.executions.start({ run_id: runId, generation: 0 }, executionName(runId, 0));
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
  deps: Pick<OrchestratorDeps, 'stores' | 'clock' | 'tokens'>,
): Promise<{ accepted: boolean }> {
  const { accepted } = await deps.stores.inbox.put(runId, signalId, signal, deps.clock.now());
  if (accepted) {
    const { task_token: token } = await deps.stores.runs.get(runId);
    if (token) await deps.tokens.complete(token);
  }
  return { accepted };
}

/**
 * Parks the execution: stores its task token on the run, unless the run moved on meanwhile. If a
 * signal is already waiting in the inbox (it arrived while the wait was being set up), the token is
 * completed at once, so the run never hangs on a signal that came early.
 */
export async function awaitSignal(
  input: AwaitSignalInput,
  deps: Pick<OrchestratorDeps, 'stores' | 'tokens'>,
) {
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
    ...extra,
  });
  if (isFinal(state.status)) {
    await notifyParent(state, deps);
    return out(finalDirective(state));
  }
  if (record.task_token) await runs.setTaskToken(input.run_id, undefined);

  const workflow = await storedVersion(workflows, state.workflow_id, state.workflow_version);
  let cursor = record.inbox_cursor;
  try {
    // Read with the run when the store can (DynamoDB: one Query), else on its own.
    const entries = record.inbox ?? (await inbox.read(input.run_id, cursor));
    const inboxSeq = new Map<Signal, number>();
    const loop = new RunLoop(state, {
      workflow,
      executor: deps,
      budgetEndsAt: deps.clock.now().getTime() + options.budgetMs,
      persist: (transition, signal, steps) => {
        cursor = inboxSeq.get(signal) ?? cursor;
        return runs.commit(transition, { inbox_cursor: cursor, ...(steps ? { steps } : {}) });
      },
    });
    for (const entry of entries) {
      inboxSeq.set(entry.signal, entry.seq);
      loop.deliver(entry.signal);
    }
    if (input.signal) loop.deliver(input.signal);
    const result = await loop.run();
    // A refused signal (a resume that raced with another, a stale result) changes nothing, now or
    // later: it is trimmed with the rest, or AwaitSignal would keep waking up for it.
    const last = entries.at(-1);
    if (last) await inbox.trim(input.run_id, last.seq, entries[0]!.seq);
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

/** Tells the parent of a child run that it ended (once: the signal id is the child's). */
async function notifyParent(state: RunState, deps: OrchestratorDeps): Promise<void> {
  const parent = state.parent;
  if (!parent) return;
  await deliverSignal(parent.run_id, `child:${state.id}`, childFinishedSignal({ ...state, parent }), deps);
}

/** Stored workflow versions never change: each is read once per process, and its compiled graph is kept with it. */
const versions = new WeakMap<WorkflowStore, Map<string, Promise<WorkflowVersion>>>();
const VERSIONS_KEPT = 500;

function storedVersion(store: WorkflowStore, id: string, version: number): Promise<WorkflowVersion> {
  let kept = versions.get(store);
  if (!kept) {
    kept = new Map();
    versions.set(store, kept);
  }
  const key = `${id}\u0000${version}`;
  let found = kept.get(key);
  if (!found) {
    found = store.get(id, version);
    kept.set(key, found);
    // A failed read (a throttle) is not kept; the oldest entry goes when the map is full.
    found.catch(() => kept.delete(key));
    if (kept.size > VERSIONS_KEPT) kept.delete(kept.keys().next().value!);
  }
  return found;
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
