/**
 * The deterministic core: `apply(workflow, state, signal, env)` returns the next run state, the work
 * to carry out and the events to record. No I/O, no clock, no randomness: time comes in `env.now`.
 *
 * `apply` takes ownership of the state it is given and returns it updated (copying a 1,000-step
 * run on every signal would make long runs quadratic); callers keep their own copy if they need one.
 */
import { DEFAULT_MAX_VISITS, type StepDefinition, type WorkflowVersion } from '../definition/schema.js';
import { mergeServiceDefaults } from '../definition/services.js';
import type { ErrorInfo } from '../errors.js';
import type { StepRegistry } from '../steps/registry.js';
import { isResumeRefusal, type StepType } from '../steps/types.js';
import { type StepGraph, stepGraph } from './graph.js';
import {
  type Answerer,
  type ChildOutcome,
  type CompensationState,
  type Completion,
  EventType,
  type RunEvent,
  type RunState,
  type RunStatus,
  type Signal,
  type StepExecution,
  type StepResult,
  type StepState,
  type Transition,
  type WaitSpec,
  type Work,
} from './types.js';

export interface EngineEnv {
  now: Date;
  registry: StepRegistry;
}

export interface CreateRunInput {
  id: string;
  workflow: WorkflowVersion;
  inputs: unknown;
  profile?: unknown;
  parent?: RunState['parent'];
  /** The run this one reruns. */
  rerun_of?: string;
  trigger?: RunState['trigger'];
  now: Date;
}

/**
 * A step not yet entered, filled in property by property rather than written as an object literal:
 * V8 tracks the objects a literal makes, and when a young collection finds most of them alive (in a
 * long run every step state is, whenever the collection falls), it allocates that literal's objects
 * in the old generation from then on. An old step state keeps whatever young value is stored in it
 * (its output, its times) alive in every young collection until a full one, so a 1,000-step run's
 * whole state (~190 KB) reached the old generation, young collections took 2 ms instead of 0.2, and
 * the run paid for it per step. An empty literal is not tracked.
 */
function pendingStep(): StepState {
  const step = {} as StepState;
  step.status = 'pending';
  step.visit = 0;
  step.attempt = 0;
  return step;
}

/** A new run in status `queued`, with its `run.created` event. Start it with a `start` signal. */
export function createRun(input: CreateRunInput): Transition {
  const at = input.now.toISOString();
  const steps: Record<string, StepState> = {};
  for (const step of input.workflow.definition.steps) steps[step.id] = pendingStep();
  const state: RunState = {
    id: input.id,
    workflow_id: input.workflow.id,
    workflow_version: input.workflow.version,
    status: 'queued',
    inputs: input.inputs ?? {},
    ...(input.profile === undefined ? {} : { profile: input.profile }),
    ...(input.parent ? { parent: input.parent } : {}),
    ...(input.rerun_of ? { rerun_of: input.rerun_of } : {}),
    ...(input.trigger ? { trigger: input.trigger } : {}),
    created_at: at,
    updated_at: at,
    seq: 0,
    checkpoint: 0,
    steps,
    active: [],
    completions: [],
  };
  const event: RunEvent = {
    seq: ++state.seq,
    type: EventType.runCreated,
    at,
    data: {
      workflow_id: state.workflow_id,
      workflow_version: state.workflow_version,
      ...(state.rerun_of ? { rerun_of: state.rerun_of } : {}),
      ...(state.trigger ? { trigger: state.trigger } : {}),
    },
  };
  return { state, work: [], events: [event], history: [], accepted: true };
}

/** Applies one signal to a run. A signal that does not fit the run is refused and changes nothing. */
export function apply(
  workflow: WorkflowVersion,
  state: RunState,
  signal: Signal,
  env: EngineEnv,
): Transition {
  const transition = openTransition(workflow, state, undefined);
  const rejection = transition.apply(signal, env);
  if (rejection) return { state, work: [], events: [], history: [], accepted: false, rejection };
  return transition.close();
}

/**
 * Signals applied one after another as one transition: each as `apply` would apply it (the same
 * state, events and history rows, each at its own `now`), and their events and rows gathered in
 * one place, to be committed together (results of pure steps wait for the next commit: the run
 * loop). The state is changed in place, as `apply` does.
 */
export interface OpenTransition {
  /** Applies a signal; its refusal when it does not fit the run (nothing has changed then). */
  apply(signal: Signal, env: EngineEnv): ErrorInfo | undefined;
  /** Fires due timers and dispatches what is ready after the last signal: the work it adds. */
  dispatch(): Work[];
  /**
   * The transition the applied signals make together (its work: what `dispatch` has not handed
   * out); the open transition is done with.
   */
  close(): Transition;
}

/**
 * An open transition over `state`. `touched`, when given, is told the id of every step it reads or
 * writes — a superset of those it changes, since every access to a step goes through one method —
 * so that a store can write a delta.
 */
export function openTransition(
  workflow: WorkflowVersion,
  state: RunState,
  touched: Set<string> | undefined,
): OpenTransition {
  return new RunTransition(workflow, state, touched);
}

/** The earliest time at which a timer of the run is due (ISO-8601), if any. */
export function nextDeadline(state: RunState): string | undefined {
  let earliest: string | undefined;
  const consider = (at: string | undefined) => {
    if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
  };
  for (const id of state.active) {
    const step = state.steps[id]!;
    if (step.status !== 'waiting') continue;
    consider(step.retry_at);
    consider(step.deadline);
    consider(step.wait?.until);
  }
  consider(state.compensation?.current?.retry_at);
  return earliest;
}

/** The waits people or systems can answer, for `waiting[]` in the API. */
export function waitingSteps(
  workflow: WorkflowVersion,
  state: RunState,
): Array<
  { step_id: string; visit: number; type: string; kind: string; expires_at?: string } & Record<
    string,
    unknown
  >
> {
  const steps = stepGraph(workflow.definition).steps;
  return state.active
    .filter((id) => state.steps[id]!.status === 'waiting' && state.steps[id]!.wait)
    .map((id) => {
      const step = state.steps[id]!;
      const wait = step.wait!;
      const expires = [wait.until, step.deadline].filter((x): x is string => x !== undefined).sort()[0];
      return {
        step_id: id,
        visit: step.visit,
        type: steps.get(id)!.type,
        kind: wait.kind,
        ...(wait.data ?? {}),
        ...(expires ? { expires_at: expires } : {}),
      };
    });
}

/** The work that runs a dispatched step: the engine emits it, and a resumed run loop rebuilds it from state. */
export function executeWork(id: string, step: StepState): Work {
  const work: Work = { kind: 'execute', step_id: id, visit: step.visit, attempt: step.attempt };
  if (step.deadline) work.deadline = step.deadline;
  return work;
}

/** The work that runs the compensation under way. */
export function compensateWork(current: Completion & { attempt: number }): Work {
  return {
    kind: 'compensate',
    step_id: current.step_id,
    visit: current.visit,
    attempt: current.attempt,
    ...(current.output === undefined ? {} : { output: current.output }),
  };
}

/** The signal that tells a parent run that this child run ended. */
export function childFinishedSignal(state: RunState & { parent: NonNullable<RunState['parent']> }): Signal {
  return {
    type: 'child_finished',
    step_id: state.parent.step_id,
    visit: state.parent.visit,
    child_run_id: state.id,
    status: state.status as 'completed' | 'failed' | 'canceled',
    ...(state.output === undefined ? {} : { output: state.output }),
    ...(state.error ? { error: state.error } : {}),
  };
}

/** The waiting steps that a person or another system can answer now (forms, approvals, custom types with `resume`). */
export function answerableSteps(
  workflow: WorkflowVersion,
  state: RunState,
  registry: StepRegistry,
): string[] {
  return state.active.filter((id) => isAnswerable(workflow, state, id, registry));
}

/** Whether one step waits for an answer now. */
export function isAnswerable(
  workflow: WorkflowVersion,
  state: RunState,
  id: string,
  registry: StepRegistry,
): boolean {
  const step = state.steps[id];
  if (step?.status !== 'waiting' || !step.wait || step.retry_at) return false;
  const definition = stepGraph(workflow.definition).steps.get(id);
  return definition !== undefined && registry.get(definition.type)?.resume !== undefined;
}

/**
 * What answering a waiting step with `payload` would do, without changing the run: the step type's
 * result, its refusal (403/422), or undefined when the step is not waiting for an answer. The engine
 * applies it; the API calls it first so a bad answer is refused before anything is written.
 */
export function tryResume(
  workflow: WorkflowVersion,
  state: RunState,
  stepId: string,
  payload: unknown,
  registry: StepRegistry,
  now: Date,
): ReturnType<NonNullable<StepType['resume']>> | undefined {
  if (!isAnswerable(workflow, state, stepId, registry)) return undefined;
  const definition = stepGraph(workflow.definition).steps.get(stepId)!;
  return registry.require(definition.type).resume!({
    config: mergeServiceDefaults(workflow.definition, definition),
    wait: state.steps[stepId]!.wait!,
    payload,
    now,
  });
}

export function isFinal(status: RunStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'canceled';
}

const conflict = (message: string): ErrorInfo => ({ code: 'Conflict', message });

/**
 * Why a run cannot be redriven, if it cannot (CONTRACT §9). Only a failed run continues. A run whose
 * completed steps were compensated is not: their effects were undone, and continuing after them would
 * build on work that no longer exists — rerun it instead. A child run is redriven through its parent,
 * whose failed step starts a new child run (the parent has already been told that this one failed).
 */
export function redriveRefusal(state: RunState): ErrorInfo | undefined {
  if (state.status !== 'failed')
    return conflict(`A ${state.status} run cannot be redriven: only a failed one`);
  if (state.parent) {
    return conflict(
      `This is a child run of ${state.parent.run_id}: redrive the parent, which starts the child again`,
    );
  }
  if (state.compensated !== undefined) {
    return conflict(
      'The run was compensated when it failed (its completed steps were undone), so it cannot continue: rerun it instead',
    );
  }
  if (!state.stopped)
    return conflict('The run failed before this version of Flowrunner recorded where runs stop');
  return undefined;
}

/** Signals that cannot apply to the run as it is, decided before anything changes. */
function refuse(state: RunState, signal: Signal): ErrorInfo | undefined {
  if (signal.type === 'redrive') return redriveRefusal(state);
  if (isFinal(state.status)) return conflict(`The run is already ${state.status}`);
  switch (signal.type) {
    case 'start':
      return state.status === 'queued' ? undefined : conflict('The run has already started');
    case 'pause':
      return state.status === 'running' || state.status === 'waiting'
        ? state.compensation || state.finishing
          ? conflict('The run is ending and cannot be paused')
          : undefined
        : conflict(`A ${state.status} run cannot be paused`);
    case 'unpause':
      return state.status === 'paused' ? undefined : conflict('The run is not paused');
    case 'cancel':
      // Every step done and the output being rendered: the run completes (a cancel sent during its
      // last step comes too late), rather than undo its steps and then complete with their output.
      if (state.finishing) return conflict('The run is completing: all its steps are done');
      return state.compensation ? conflict('The run is already ending') : undefined;
    case 'abort':
      // A host that cannot advance the run may not be able to undo its steps either: an abort
      // ends a compensation under way too (#onAbort).
      return undefined;
    case 'output_rendered':
      return state.finishing
        ? undefined
        : { code: 'StaleResult', message: 'The run is not rendering its output' };
    default:
      return state.status === 'queued' ? conflict('The run has not started') : undefined;
  }
}

class RunTransition implements OpenTransition {
  readonly #workflow: WorkflowVersion;
  readonly #graph: StepGraph;
  readonly #state: RunState;
  readonly #events: RunEvent[] = [];
  /** Work not handed out yet by `dispatch`. */
  #work: Work[] = [];
  /**
   * The history rows of the signals applied, one per step and visit, in the order they began: a
   * later row is merged into the earlier one, as stores merge them. Found through #lastRow, the row
   * of each step's latest visit (a key string per row cost more than the rest of the row's upkeep).
   */
  readonly #history: StepExecution[] = [];
  readonly #lastRow = new Map<string, StepExecution>();
  /** Told every step this transition reads or writes: a superset of those it changed. */
  readonly #touched: Set<string> | undefined;
  #lastTouched: string | undefined;
  /** The signal being applied: its time, and the run's status before it. */
  #env!: EngineEnv;
  #now = '';
  #statusBefore: RunStatus;
  #resumedEmitted = false;
  /** Whether timers and dispatch ran after the last signal applied. */
  #dispatched = true;
  /** Who answered the wait being resumed, while its result is applied. */
  #answer: Answerer | undefined;
  /** Steps whose MaxVisitsExceeded is being handed to their on_error now (see #enter). */
  #exhausted: Set<string> | undefined;

  constructor(workflow: WorkflowVersion, state: RunState, touched: Set<string> | undefined) {
    this.#touched = touched;
    this.#workflow = workflow;
    this.#graph = stepGraph(workflow.definition);
    this.#state = state;
    this.#statusBefore = state.status;
  }

  /** A step of the run, noted as touched: every read and write of a step goes through here. */
  #step(id: string): StepState | undefined {
    // The same step is often reached several times in a row: noted once.
    if (id !== this.#lastTouched) {
      this.#touched?.add(id);
      this.#lastTouched = id;
    }
    return this.#state.steps[id];
  }

  apply(signal: Signal, env: EngineEnv): ErrorInfo | undefined {
    const state = this.#state;
    const refusal = refuse(state, signal);
    if (refusal) return refusal;
    if (!this.#dispatched) this.dispatch();
    const envBefore = this.#env;
    const nowBefore = this.#now;
    this.#env = env;
    this.#now = isoTime(env.now);
    this.#statusBefore = state.status;
    this.#resumedEmitted = false;
    const rejection = this.#handle(signal);
    if (rejection) {
      this.#env = envBefore;
      this.#now = nowBefore;
      return rejection;
    }
    this.#dispatched = false;
    return undefined;
  }

  dispatch(): Work[] {
    if (this.#dispatched) return [];
    this.#dispatched = true;
    if (!isFinal(this.#state.status)) {
      this.#fireDueTimers();
      this.#advance();
    }
    // The work of the signal (a child to cancel) and of its dispatch, not handed out before.
    const work = this.#work;
    this.#work = [];
    return work;
  }

  close(): Transition {
    const state = this.#state;
    const work = this.dispatch();
    state.checkpoint += 1;
    state.updated_at = this.#now;
    return {
      state,
      work,
      events: this.#events,
      history: this.#history,
      accepted: true,
    };
  }

  /** Applies the signal; returns a rejection when it does not fit (nothing has changed then). */
  #handle(signal: Signal): ErrorInfo | undefined {
    const state = this.#state;
    switch (signal.type) {
      case 'start':
        state.status = 'running';
        state.started_at = this.#now;
        this.#emit(EventType.runStarted, {});
        this.#enter(this.#graph.start);
        return undefined;
      case 'step_result':
        return signal.compensation ? this.#onCompensationResult(signal) : this.#onStepResult(signal);
      case 'resume':
        return this.#onResume(signal.step_id, undefined, signal.payload, answerer(signal));
      case 'callback':
        return this.#onResume(signal.step_id, signal.visit, signal.payload, answerer(signal));
      case 'timeout':
        return undefined; // due timers fire in dispatch()
      case 'cancel':
        this.#onCancel(signal.reason, signal.by);
        return undefined;
      case 'abort':
        this.#onAbort(signal.error);
        return undefined;
      case 'pause':
        state.paused_from = state.status;
        state.status = 'paused';
        this.#emit(EventType.runPaused, signal.by ? { by: signal.by } : {});
        return undefined;
      case 'unpause':
        state.status = state.paused_from ?? 'running';
        delete state.paused_from;
        this.#emit(EventType.runUnpaused, signal.by ? { by: signal.by } : {});
        return undefined;
      case 'redrive':
        this.#onRedrive(signal.by);
        return undefined;
      case 'child_finished':
        return this.#onChildFinished(signal);
      case 'output_rendered':
        delete state.finishing;
        if (signal.error) this.#failRun(signal.error);
        else this.#completeRun(signal.output);
        return undefined;
    }
  }

  // ── signals ────────────────────────────────────────────────────────────────────────────────

  #onStepResult(signal: Extract<Signal, { type: 'step_result' }>): ErrorInfo | undefined {
    const step = this.#step(signal.step_id);
    if (step?.status !== 'running' || step.visit !== signal.visit || step.attempt !== signal.attempt) {
      return { code: 'StaleResult', message: `No attempt ${signal.attempt} of ${signal.step_id} is running` };
    }
    this.#applyResult(signal.step_id, signal.result);
    return undefined;
  }

  #onResume(stepId: string | undefined, visit: number | undefined, payload: unknown, answer: Answerer) {
    const registry = this.#env.registry;
    let id = stepId;
    if (id === undefined) {
      const candidates = answerableSteps(this.#workflow, this.#state, registry);
      if (candidates.length === 0) return conflict('The run is not waiting for an answer');
      if (candidates.length > 1) {
        return conflict(`Several steps are waiting (${candidates.join(', ')}): give step_id`);
      }
      id = candidates[0]!;
    }
    if (!this.#graph.steps.has(id)) return { code: 'NotFound', message: `The workflow has no step '${id}'` };
    if (!isAnswerable(this.#workflow, this.#state, id, registry)) {
      return conflict(`Step '${id}' is not waiting for an answer`);
    }
    if (visit !== undefined && this.#step(id)!.visit !== visit) {
      return conflict(`That wait of step '${id}' has ended`);
    }
    const outcome = tryResume(this.#workflow, this.#state, id, payload, registry, this.#env.now)!;
    if (isResumeRefusal(outcome)) {
      return {
        code: outcome.status === 403 ? 'Forbidden' : 'ValidationError',
        message: outcome.message,
        details: { issues: outcome.issues },
      };
    }
    if (this.#state.status === 'waiting') {
      this.#emit(EventType.runResumed, { step_id: id, ...answer }, id);
      this.#resumedEmitted = true;
    }
    // The step's completion names who answered, also when other branches kept the run running.
    this.#answer = answer;
    this.#applyResult(id, outcome);
    this.#answer = undefined;
    return undefined;
  }

  #onChildFinished(signal: Extract<Signal, { type: 'child_finished' }>): ErrorInfo | undefined {
    const step = this.#step(signal.step_id);
    const { type: _type, step_id: _step, visit, ...outcome } = signal;
    if (step?.status === 'running' && step.visit === visit) {
      // The child ended before the step's own result (that it waits) arrived: keep it until then.
      step.early_child = outcome;
      return undefined;
    }
    if (
      step?.status !== 'waiting' ||
      step.visit !== visit ||
      step.wait?.child_run_id !== signal.child_run_id
    ) {
      return {
        code: 'StaleResult',
        message: `Step ${signal.step_id} is not waiting for ${signal.child_run_id}`,
      };
    }
    this.#childEnded(signal.step_id, outcome);
    return undefined;
  }

  #childEnded(id: string, child: ChildOutcome) {
    if (child.status === 'completed') {
      this.#complete(id, 'success', child.output);
      return;
    }
    this.#failStep(id, {
      code: child.status === 'canceled' ? 'ChildRunCanceled' : 'ChildRunFailed',
      message: `Child run ${child.child_run_id} ${child.status}${child.error ? `: ${child.error.message}` : ''}`,
      retryable: false,
      details: { child_run_id: child.child_run_id, ...(child.error ? { error: child.error } : {}) },
    });
  }

  #onCancel(reason: string | undefined, by: string | undefined) {
    const state = this.#state;
    if (state.status === 'paused') {
      state.status = state.paused_from ?? 'running';
      delete state.paused_from;
    }
    const message = reason ?? (by ? `Canceled by ${by}` : 'The run was canceled');
    if (state.status === 'queued') {
      state.error = { code: 'Canceled', message };
      this.#endRun('canceled');
      return;
    }
    this.#interruptActive('The run was canceled while this step was active');
    this.#startCompensation('canceled', { code: 'Canceled', message });
  }

  #onAbort(error: ErrorInfo) {
    const state = this.#state;
    const compensation = state.compensation;
    if (compensation) {
      // The host could not advance the run while it undid its steps: what is left to undo is not
      // undone (each one a compensation failure with the abort's error), and the run ends as the
      // compensation would have, with compensated: false.
      const current = compensation.current;
      if (current) {
        compensation.failures.push({ ...error, step_id: current.step_id });
        this.#emit(
          EventType.stepFailed,
          { visit: current.visit, compensation: true, error },
          current.step_id,
        );
        delete compensation.current;
      }
      for (let left = toUndo(state); left > 0; left--) {
        compensation.failures.push({ ...error, step_id: state.completions[left - 1]!.step_id });
      }
      compensation.left = 0;
      this.#endRun(compensation.reason);
      return;
    }
    if (state.status === 'paused') {
      state.status = state.paused_from ?? 'running';
      delete state.paused_from;
    }
    if (state.status === 'queued') {
      state.error = error;
      this.#endRun('failed');
      return;
    }
    this.#failRun(error);
  }

  /**
   * A failed run goes on from where it stopped: the steps that failed unhandled or were interrupted
   * are entered again (a new visit, a fresh retry budget), the steps it never reached are pending
   * again, and everything that completed keeps its output and is not executed again.
   */
  #onRedrive(by: string | undefined) {
    const state = this.#state;
    const stopped = state.stopped!;
    state.redrives = (state.redrives ?? 0) + 1;
    state.status = 'running';
    delete state.stopped;
    delete state.error;
    delete state.ended_at;
    this.#emit(EventType.runRedriven, {
      redrive: state.redrives,
      steps: stopped.steps,
      ...(by ? { by } : {}),
    });
    for (const id of stopped.unreached) {
      const step = this.#step(id);
      if (step?.status !== 'skipped') continue;
      step.status = 'pending';
      delete step.ended_at;
    }
    if (state.started_at === undefined) {
      // It failed before it started (the host aborted it while queued): it starts now.
      state.started_at = this.#now;
      this.#emit(EventType.runStarted, {});
      this.#enter(this.#graph.start);
      return;
    }
    for (const id of stopped.steps) this.#enter(id);
  }

  // ── steps ──────────────────────────────────────────────────────────────────────────────────

  #definition(id: string): StepDefinition {
    return this.#graph.steps.get(id)!;
  }

  #applyResult(id: string, result: StepResult) {
    for (const event of result.events ?? []) this.#emit(event.type, event.data, id);
    switch (result.status) {
      case 'completed':
        this.#complete(id, result.outcome, result.output);
        return;
      case 'failed':
        this.#failStep(id, result.error);
        return;
      case 'waiting':
        this.#wait(id, result.wait);
        return;
    }
  }

  /** Enters a step: a new visit, ready to run (or failed when it has been entered too often). */
  #enter(id: string) {
    const step = this.#step(id)!;
    const definition = this.#definition(id);
    step.visit += 1;
    step.attempt = 1;
    this.#resetInbound(id, step, true);
    if (step.started_at !== undefined) delete step.started_at;
    if (step.ended_at !== undefined) delete step.ended_at;
    const limit = definition.max_visits ?? DEFAULT_MAX_VISITS;
    if (step.visit > limit) {
      step.status = 'running';
      step.started_at = this.#now;
      const error = {
        code: 'MaxVisitsExceeded',
        message: `Step '${id}' was entered more than ${limit} times (max_visits)`,
        retryable: false,
      };
      // Entered again while its own MaxVisitsExceeded goes to its on_error (which leads back to it,
      // itself or through other steps entered too often): the run fails. Handed to on_error again, it
      // recursed until the stack overflowed, and the Advance failed after a minute of retries.
      this.#exhausted ??= new Set();
      const exhausted = this.#exhausted;
      if (exhausted.has(id)) {
        this.#failStep(id, error, false);
        return;
      }
      exhausted.add(id);
      try {
        this.#failStep(id, error);
      } finally {
        exhausted.delete(id);
      }
      return;
    }
    step.status = 'pending';
    step.ready = true;
    this.#activate(id);
  }

  #wait(id: string, wait: WaitSpec) {
    const step = this.#step(id)!;
    let until = wait.until;
    if (until !== undefined) {
      const time = Date.parse(until);
      if (Number.isNaN(time)) {
        this.#failStep(id, {
          code: 'InvalidWaitTime',
          message: `'${until}' is not a time`,
          retryable: false,
        });
        return;
      }
      until = new Date(time).toISOString();
    }
    step.status = 'waiting';
    step.wait = until === undefined ? wait : { ...wait, until };
    this.#emit(
      EventType.stepWaiting,
      { visit: step.visit, kind: wait.kind, ...(until ? { until } : {}) },
      id,
    );
    this.#record(id);
    const early = step.early_child;
    delete step.early_child;
    if (early && early.child_run_id === wait.child_run_id) this.#childEnded(id, early);
  }

  #complete(id: string, outcome: string, output: unknown) {
    const state = this.#state;
    const step = this.#step(id)!;
    step.status = 'completed';
    step.outcome = outcome;
    step.output = output;
    if (step.error !== undefined) delete step.error;
    step.ended_at = this.#now;
    this.#clearTimers(step);
    this.#deactivate(id);
    const data: Record<string, unknown> = { visit: step.visit, attempt: step.attempt, outcome };
    if (this.#answer?.by !== undefined) data.by = this.#answer.by;
    if (this.#answer?.via !== undefined) data.via = this.#answer.via;
    this.#emit(EventType.stepCompleted, data, id);
    this.#record(id);
    if (this.#definition(id).compensate) {
      state.completions.push({ step_id: id, visit: step.visit, ...(output === undefined ? {} : { output }) });
    }
    state.last_completed = id;
    this.#leave(id, this.#graph.targets(id, outcome));
  }

  /** A step's failure: retried, else handed to its `on_error` (unless `handled` is false), else the run's. */
  #failStep(id: string, error: ErrorInfo, handled = true) {
    const step = this.#step(id)!;
    const definition = this.#definition(id);
    if (step.wait?.kind === 'child' && step.wait.child_run_id) {
      this.#work.push({ kind: 'cancel_child', step_id: id, child_run_id: step.wait.child_run_id });
    }
    const retry = definition.retry;
    if (error.retryable && retry && step.attempt < retry.max_attempts) {
      const delay = retryDelaySeconds(retry, step.attempt, error);
      step.status = 'waiting';
      delete step.wait;
      delete step.deadline;
      step.retry_at = new Date(this.#env.now.getTime() + delay * 1000).toISOString();
      step.error = error;
      this.#emit(
        EventType.stepRetrying,
        { visit: step.visit, attempt: step.attempt, next_attempt: step.attempt + 1, delay_s: delay, error },
        id,
      );
      this.#record(id);
      return;
    }
    step.status = 'failed';
    step.error = { ...error, step_id: id };
    step.ended_at = this.#now;
    this.#clearTimers(step);
    this.#deactivate(id);
    this.#emit(EventType.stepFailed, { visit: step.visit, attempt: step.attempt, error: step.error }, id);
    this.#record(id);
    if (handled && definition.on_error && this.#graph.steps.has(definition.on_error)) {
      this.#leave(id, [definition.on_error]);
    } else {
      this.#failRun({ code: error.code, message: error.message, step_id: id });
    }
  }

  /** An error nobody handles: active steps stop, completed steps are compensated, the run fails. */
  #failRun(error: ErrorInfo) {
    const steps = [...this.#state.active];
    const failed = error.step_id;
    if (failed !== undefined && this.#step(failed)?.status === 'failed' && !steps.includes(failed)) {
      steps.unshift(failed);
    }
    this.#state.stopped = { steps, unreached: [] };
    this.#interruptActive('Another step failed and the run stopped');
    this.#startCompensation('failed', error);
  }

  /** Settles the edges out of a finished step: taken to `targets`, skipped elsewhere; a back edge loops. */
  #leave(from: string, targets: readonly string[]) {
    if (targets.some((to) => this.#graph.isBackEdge(from, to))) {
      const loops = targets.filter((to) => this.#graph.isBackEdge(from, to));
      for (const entry of loops) this.#loopBack(entry);
      // The loop's entry may have failed the run (entered too often, its handler too): nothing
      // starts after that.
      if (this.#state.stopped !== undefined) return;
      for (const to of targets) if (!loops.includes(to)) this.#settle(from, to, true);
      return;
    }
    for (const to of this.#graph.successors(from)) {
      if (!this.#graph.isBackEdge(from, to)) this.#settle(from, to, targets.includes(to));
    }
  }

  /**
   * Records one edge as taken or skipped; a step whose edges have all settled runs or is skipped.
   * A step with one forward source (most of them) settles with its edge and keeps no `inbound`.
   */
  #settle(from: string, to: string, taken: boolean) {
    let queue: Array<[string, string, boolean]> | undefined;
    let source = from;
    let target = to;
    let wasTaken = taken;
    for (;;) {
      const step = this.#step(target)!;
      if (step.status === 'pending' && !step.ready) {
        const sources = this.#graph.forwardSources(target);
        let run = wasTaken;
        let settled = true;
        if (sources.length > 1) {
          step.inbound ??= edges();
          const inbound = step.inbound;
          inbound[source] = wasTaken;
          settled = allSettled(sources, inbound);
          run = settled && anyTaken(sources, inbound);
        }
        if (settled && run) {
          this.#enter(target);
        } else if (settled) {
          this.#skip(target);
          for (const next of this.#graph.successors(target)) {
            if (this.#graph.isBackEdge(target, next)) continue;
            queue ??= [];
            queue.push([target, next, false]);
          }
        }
      }
      const edge = queue?.pop();
      if (edge === undefined) return;
      [source, target, wasTaken] = edge;
    }
  }

  /**
   * Forgets the edges settled into a step (a new visit): kept only for joins, see #settle. A join
   * entered (`keepOnce`) keeps the edges from the steps that cannot run again before it (none of
   * what can run after it): a join inside a loop with an edge from before the loop waited for that
   * edge for ever on the loop's second pass, and was skipped.
   */
  #resetInbound(id: string, step: StepState, keepOnce = false) {
    const sources = this.#graph.forwardSources(id);
    if (sources.length <= 1) {
      if (step.inbound !== undefined) delete step.inbound;
      return;
    }
    const settled = step.inbound;
    step.inbound = edges();
    if (settled === undefined || !keepOnce) return;
    const again = this.#graph.reachableFrom(id);
    for (const source of sources) {
      const taken = settled[source];
      if (taken !== undefined && !again.has(source)) step.inbound[source] = taken;
    }
  }

  #skip(id: string) {
    const step = this.#step(id)!;
    step.status = 'skipped';
    step.ended_at = this.#now;
    this.#emit(EventType.stepSkipped, { visit: step.visit + 1 }, id);
    this.#addRow({
      step_id: id,
      visit: step.visit + 1,
      type: this.#definition(id).type,
      status: 'skipped',
      attempt: 0,
      ended_at: this.#now,
    });
  }

  /** A back edge was taken: the loop's steps go back to pending and its entry gets a new visit. */
  #loopBack(entry: string) {
    const body = this.#graph.loopBody(entry);
    for (const id of body) this.#reset(id, entry, body);
    this.#reset(entry, entry, body);
    this.#enter(entry);
  }

  /**
   * A step of a loop goes back to pending. A join forgets only the edges from the loop (its entry and
   * body): one from a step before the loop (`c → j` beside `loop → j`) settles once and stays
   * settled, or the join waited for it for ever and was skipped, though every edge into it was taken.
   */
  #reset(id: string, entry: string, body: ReadonlySet<string>) {
    const step = this.#step(id)!;
    if (this.#state.active.includes(id)) this.#interrupt(id, 'A loop restarted this step', 'skipped');
    step.status = 'pending';
    const settled = step.inbound;
    this.#resetInbound(id, step);
    if (settled !== undefined && step.inbound !== undefined) {
      for (const source of this.#graph.forwardSources(id)) {
        const taken = settled[source];
        if (taken !== undefined && source !== entry && !body.has(source)) step.inbound[source] = taken;
      }
    }
    delete step.ready;
  }

  /** Stops every active step (the run is failing or being canceled). */
  #interruptActive(message: string) {
    for (const id of [...this.#state.active]) this.#interrupt(id, message, 'failed');
  }

  #interrupt(id: string, message: string, status: 'failed' | 'skipped') {
    const step = this.#step(id)!;
    if (step.wait?.kind === 'child' && step.wait.child_run_id) {
      this.#work.push({ kind: 'cancel_child', step_id: id, child_run_id: step.wait.child_run_id });
    }
    this.#deactivate(id);
    this.#clearTimers(step);
    if (step.ready) {
      // Never dispatched: nothing ran, so it simply stays pending.
      delete step.ready;
      step.status = 'pending';
      return;
    }
    step.status = status;
    step.ended_at = this.#now;
    if (status === 'failed') {
      step.error = { code: 'Interrupted', message, step_id: id };
      this.#emit(EventType.stepFailed, { visit: step.visit, attempt: step.attempt, error: step.error }, id);
    } else {
      this.#emit(EventType.stepSkipped, { visit: step.visit, reason: message }, id);
    }
    this.#record(id);
  }

  #clearTimers(step: StepState) {
    // Checked first: a delete, even of a property that is not there, takes V8's slow path.
    if (step.early_child !== undefined) delete step.early_child;
    if (step.wait !== undefined) delete step.wait;
    if (step.retry_at !== undefined) delete step.retry_at;
    if (step.deadline !== undefined) delete step.deadline;
  }

  #activate(id: string) {
    if (!this.#state.active.includes(id)) this.#state.active.push(id);
  }

  #deactivate(id: string) {
    const active = this.#state.active;
    const at = active.indexOf(id);
    if (at < 0) return;
    // In place, without the array `splice` returns.
    for (let i = at + 1; i < active.length; i++) active[i - 1] = active[i]!;
    active.length -= 1;
  }

  // ── timers, dispatch and the end of the run ────────────────────────────────────────────────

  #fireDueTimers() {
    const now = this.#now;
    if (this.#anyWaiting()) this.#fireDueStepTimers(now);
    const current = this.#state.compensation?.current;
    if (current?.retry_at !== undefined && current.retry_at <= now) {
      delete current.retry_at;
      current.attempt += 1;
      this.#dispatchCompensation();
    }
  }

  /** Whether an active step waits (only those have timers): read without noting the steps as touched. */
  #anyWaiting(): boolean {
    const states = this.#state.steps;
    for (const id of this.#state.active) if (states[id]!.status === 'waiting') return true;
    return false;
  }

  #fireDueStepTimers(now: string) {
    // A copy: firing a timer ends the step's activity.
    for (const id of [...this.#state.active]) {
      const step = this.#step(id)!;
      if (step.status !== 'waiting') continue;
      if (step.retry_at !== undefined && step.retry_at <= now) {
        delete step.retry_at;
        step.attempt += 1;
        step.ready = true;
      } else if (step.deadline !== undefined && step.deadline <= now) {
        this.#failStep(id, {
          code: 'StepTimeout',
          message: `Step '${id}' took longer than its timeout_s`,
          retryable: true,
        });
      } else if (step.wait?.until !== undefined && step.wait.until <= now) {
        const wait = step.wait;
        if (wait.timeout_outcome !== undefined) this.#complete(id, wait.timeout_outcome, wait.timeout_output);
        else
          this.#failStep(id, {
            code: 'StepTimeout',
            message: `The wait of step '${id}' expired`,
            retryable: true,
          });
      }
    }
  }

  /** Dispatches ready steps, drives compensation and ends the run when nothing is left to do. */
  #advance() {
    const state = this.#state;
    if (state.status === 'paused') return;
    for (const id of state.active) {
      const step = this.#step(id)!;
      if (!step.ready) continue;
      delete step.ready;
      step.status = 'running';
      step.started_at = this.#now;
      const timeout = this.#definition(id).timeout_s;
      if (timeout !== undefined) {
        step.deadline = new Date(this.#env.now.getTime() + timeout * 1000).toISOString();
      }
      this.#emit(EventType.stepStarted, { visit: step.visit, attempt: step.attempt }, id);
      this.#record(id);
      this.#work.push(executeWork(id, step));
    }
    const compensation = state.compensation;
    if (compensation) {
      if (!compensation.current) {
        const left = toUndo(state);
        if (left > 0) {
          const next = state.completions[left - 1]!;
          compensation.left = left - 1;
          compensation.current = { ...next, attempt: 1 };
          this.#emit(EventType.stepCompensating, { visit: next.visit }, next.step_id);
          this.#dispatchCompensation();
        } else {
          this.#endRun(compensation.reason);
          return;
        }
      }
    } else if (state.active.length === 0 && !state.finishing && !isFinal(state.status)) {
      if (this.#workflow.definition.output !== undefined) {
        state.finishing = true;
        this.#work.push({ kind: 'render_output' });
      } else {
        this.#completeRun(state.last_completed ? this.#step(state.last_completed)!.output : undefined);
        return;
      }
    }
    if (isFinal(state.status)) return;
    const busy = state.finishing || compensation !== undefined || this.#anyRunning();
    const status: RunStatus = busy ? 'running' : 'waiting';
    if (status === 'waiting' && this.#statusBefore !== 'waiting') {
      this.#emit(EventType.runWaiting, { steps: [...state.active] });
    } else if (status === 'running' && this.#statusBefore === 'waiting' && !this.#resumedEmitted) {
      this.#emit(EventType.runResumed, {});
    }
    state.status = status;
  }

  #anyRunning(): boolean {
    for (const id of this.#state.active) if (this.#step(id)!.status === 'running') return true;
    return false;
  }

  #dispatchCompensation() {
    const current = this.#state.compensation!.current!;
    if (this.#state.status === 'paused' || current.retry_at) return;
    this.#work.push(compensateWork(current));
  }

  #onCompensationResult(signal: Extract<Signal, { type: 'step_result' }>): ErrorInfo | undefined {
    const compensation = this.#state.compensation;
    const current = compensation?.current;
    if (
      !compensation ||
      !current ||
      current.retry_at ||
      current.step_id !== signal.step_id ||
      current.visit !== signal.visit ||
      current.attempt !== signal.attempt
    ) {
      return { code: 'StaleResult', message: `No compensation of ${signal.step_id} is running` };
    }
    const id = current.step_id;
    for (const event of signal.result.events ?? []) this.#emit(event.type, event.data, id);
    const result = signal.result;
    if (result.status === 'completed') {
      compensation.done += 1;
      delete compensation.current;
      const step = this.#step(id)!;
      if (step.visit === current.visit && step.status === 'completed') {
        step.status = 'compensated';
        this.#record(id);
      } else {
        this.#addRow({
          step_id: id,
          visit: current.visit,
          type: this.#definition(id).type,
          status: 'compensated',
          attempt: step.attempt,
        });
      }
      this.#emit(EventType.stepCompensated, { visit: current.visit }, id);
      return undefined;
    }
    const error: ErrorInfo =
      result.status === 'failed'
        ? result.error
        : { code: 'CompensationWaited', message: 'A compensation action cannot wait', retryable: false };
    const retry = this.#definition(id).retry;
    if (error.retryable && retry && current.attempt < retry.max_attempts) {
      const delay = retryDelaySeconds(retry, current.attempt, error);
      current.retry_at = new Date(this.#env.now.getTime() + delay * 1000).toISOString();
      this.#emit(
        EventType.stepRetrying,
        { visit: current.visit, attempt: current.attempt, delay_s: delay, compensation: true, error },
        id,
      );
      return undefined;
    }
    compensation.failures.push({ ...error, step_id: id });
    delete compensation.current;
    this.#emit(EventType.stepFailed, { visit: current.visit, compensation: true, error }, id);
    return undefined;
  }

  #startCompensation(reason: CompensationState['reason'], error: ErrorInfo) {
    const state = this.#state;
    state.error = error;
    if (state.completions.length === 0) {
      this.#endRun(reason);
      return;
    }
    state.compensation = { reason, left: state.completions.length, failures: [], done: 0 };
  }

  #completeRun(output: unknown) {
    const state = this.#state;
    if (output !== undefined) state.output = output;
    this.#endRun('completed');
  }

  #endRun(status: 'completed' | 'failed' | 'canceled') {
    const state = this.#state;
    const compensation = state.compensation;
    delete state.compensation;
    delete state.finishing;
    state.status = status;
    state.ended_at = this.#now;
    // Every step is looked at, but only those skipped now change: read past #step, so that a
    // run's last commit does not count every step as touched.
    const steps = state.steps;
    if (status === 'failed') {
      state.stopped ??= { steps: [], unreached: [] };
      for (const id of this.#graph.order) {
        if (steps[id]!.status === 'pending') state.stopped.unreached.push(id);
      }
    } else {
      delete state.stopped;
    }
    for (const id of this.#graph.order) {
      if (steps[id]!.status === 'pending') this.#skip(id);
    }
    state.active = [];
    if (compensation) {
      state.compensated = compensation.failures.length === 0;
      if (compensation.failures.length > 0 && state.error) {
        state.error = { ...state.error, details: { compensation_failures: compensation.failures } };
      }
    }
    const data: Record<string, unknown> = {};
    if (state.error && status !== 'completed') data.error = state.error;
    if (state.compensated !== undefined) data.compensated = state.compensated;
    const type =
      status === 'completed'
        ? EventType.runCompleted
        : status === 'failed'
          ? EventType.runFailed
          : EventType.runCanceled;
    this.#emit(type, data);
  }

  // ── records ────────────────────────────────────────────────────────────────────────────────

  #emit(type: EventType, data: Record<string, unknown>, stepId?: string) {
    const event: RunEvent = { seq: ++this.#state.seq, type, at: this.#now, data };
    if (stepId !== undefined) event.step_id = stepId;
    this.#events.push(event);
  }

  /** A history row; a later row of the same step and visit is merged into the earlier one. */
  #addRow(row: StepExecution) {
    const known = this.#findRow(row.step_id, row.visit);
    if (known !== undefined) Object.assign(known, row);
    else this.#appendRow(row);
  }

  /** The row of a step's visit recorded in this transition, if any. */
  #findRow(stepId: string, visit: number): StepExecution | undefined {
    const last = this.#lastRow.get(stepId);
    if (last === undefined || last.visit === visit) return last;
    // Another visit of a step already recorded (a loop, a redrive): rare, so looked for in the list.
    return this.#history.find((r) => r.step_id === stepId && r.visit === visit);
  }

  #appendRow(row: StepExecution) {
    this.#history.push(row);
    const last = this.#lastRow.get(row.step_id);
    if (last === undefined || row.visit > last.visit) this.#lastRow.set(row.step_id, row);
  }

  /**
   * The history row of a step's current visit, as the step is now. A row this transition already
   * recorded is updated in place (fields it does not set now are kept, as stores merge rows).
   */
  #record(id: string) {
    const step = this.#step(id)!;
    const known = this.#findRow(id, step.visit);
    const row: StepExecution = known ?? {
      step_id: id,
      visit: step.visit,
      type: this.#definition(id).type,
      status: step.status,
      attempt: step.attempt,
    };
    if (known !== undefined) {
      known.status = step.status;
      known.attempt = step.attempt;
    }
    if (step.started_at) row.started_at = step.started_at;
    if (step.ended_at && step.status !== 'running' && step.status !== 'waiting') row.ended_at = step.ended_at;
    if (step.status === 'completed' || step.status === 'compensated') {
      if (step.outcome !== undefined) row.outcome = step.outcome;
      if (step.output !== undefined) row.output = step.output;
    }
    if (step.status === 'completed' || step.status === 'compensated') {
      // A visit that succeeded has no error: the one a failed attempt left (or a visit before it,
      // which expressions still read at `steps.<id>.error`) is not its own.
      if (row.error !== undefined) delete row.error;
    } else if (step.error) {
      row.error = step.error;
    }
    if (known === undefined) this.#appendRow(row);
  }
}

/**
 * How many completions the run's compensation has still to undo. A run stored while it was
 * compensating, before the count existed, kept a copy of them (`queue`): its length is the count,
 * as the queue was always the first completions, last first.
 */
function toUndo(state: RunState): number {
  const compensation = state.compensation!;
  if (compensation.queue !== undefined) {
    compensation.left = compensation.queue.length;
    delete compensation.queue;
  }
  return compensation.left;
}

/**
 * The settled edges into a step, by source step id. Read with Object.hasOwn: a step may be called
 * `constructor`. Without a prototype, so each of a workflow's step ids is a key of a hash table
 * rather than a new object shape.
 */
function edges(): Record<string, boolean> {
  return Object.create(null) as Record<string, boolean>;
}

function allSettled(sources: readonly string[], inbound: Record<string, boolean>): boolean {
  for (const source of sources) if (!Object.hasOwn(inbound, source)) return false;
  return true;
}

function anyTaken(sources: readonly string[], inbound: Record<string, boolean>): boolean {
  for (const source of sources) if (inbound[source] === true) return true;
  return false;
}

/** The last time written as ISO-8601: a run loop applies many signals within one millisecond. */
let lastIso = { ms: Number.NaN, text: '' };

/** `date.toISOString()`, remembered for the last millisecond asked (formatting costs more than a transition's bookkeeping). */
function isoTime(date: Date): string {
  const ms = date.getTime();
  if (ms !== lastIso.ms) lastIso = { ms, text: date.toISOString() };
  return lastIso.text;
}

/** The longest `retry_after_s` the engine waits for: a server asking for more is waited on this long. */
export const MAX_RETRY_AFTER_S = 3600;

/**
 * Seconds before retry `attempt + 1`: the backoff, or the error's `details.retry_after_s` when it
 * asks for longer (a 429's `retry-after`, shared/ai/openai-provider.ts), at most MAX_RETRY_AFTER_S.
 * `max_backoff_s` bounds the backoff only: a server's own "not before" is not shortened by it.
 */
function retryDelaySeconds(
  retry: { backoff_s: number; backoff_rate: number; max_backoff_s: number },
  attempt: number,
  error: ErrorInfo,
): number {
  const backoff = backoffSeconds(retry, attempt);
  const asked = error.details?.retry_after_s;
  if (typeof asked !== 'number' || !Number.isFinite(asked) || asked <= backoff) return backoff;
  return Math.min(Math.ceil(asked), Math.max(backoff, MAX_RETRY_AFTER_S));
}

/** Seconds before retry `attempt + 1`: backoff_s × backoff_rate^(attempt−1), at most max_backoff_s. */
function backoffSeconds(
  retry: { backoff_s: number; backoff_rate: number; max_backoff_s: number },
  attempt: number,
): number {
  return Math.min(retry.backoff_s * retry.backoff_rate ** (attempt - 1), retry.max_backoff_s);
}

/** The answerer a resume or callback signal names, without unset fields. */
function answerer(signal: Answerer): Answerer {
  return { ...(signal.by ? { by: signal.by } : {}), ...(signal.via ? { via: signal.via } : {}) };
}
