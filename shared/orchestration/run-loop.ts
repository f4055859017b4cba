/**
 * Drives one run: applies the signals of its inbox, carries out the work they produce (steps of
 * parallel branches at the same time), fires timers that are due, and persists after every
 * transition. Advance runs every run through this one apply-and-commit loop, in the cloud, in the
 * local runtime and in the in-memory harness.
 */
import { type Awaitable, isPromise } from '../awaitable.js';
import type { WorkflowDefinition, WorkflowVersion } from '../definition/schema.js';
import { RunContexts } from '../engine/context.js';
import { stepGraph } from '../engine/graph.js';
import {
  compensateWork,
  executeWork,
  isFinal,
  nextDeadline,
  type OpenTransition,
  openTransition,
} from '../engine/transition.js';
import type { RunState, Signal, Transition, Work } from '../engine/types.js';
import type { StepRegistry } from '../steps/registry.js';
import { carryOut, type ExecutorDeps } from './executor.js';

/** Transitions of pure steps committed together at most: bounds the size of one commit and what a crash recomputes. */
export const MAX_BATCHED_TRANSITIONS = 32;

export interface RunLoopOptions {
  workflow: WorkflowVersion;
  /** Carries out the work; its clock is the loop's clock. */
  executor: ExecutorDeps;
  /**
   * Stores a transition (the checkpointed state, its events and history), with the signal it applied
   * last and the steps it may have changed (every step it read or wrote; undefined: not known, store
   * the whole state). A transition can stand for several applied signals: results of pure steps are
   * committed with the next one.
   */
  persist(transition: Transition, signal: Signal, steps: readonly string[] | undefined): Promise<void>;
  /**
   * Observability: called before a signal is applied (the engine changes the state in place, so what
   * was before must be read now); the function it returns is told the transition once it is persisted
   * (with the commit that carries it, when results of pure steps wait for the next one).
   */
  observe?(before: RunState, signal: Signal): ((transition: Transition) => void) | undefined;
  /** Observability: told each commit once it is stored, after the observers of its signals. */
  committed?(transition: Transition): void;
  /** After this time (ms since the epoch) no new work is started; what is left is returned. */
  budgetEndsAt?: number;
  /**
   * Reads back the output a completion kept for its compensation, when the store left it in storage
   * (`RunStore.readKept`): a compensation is handed the output of the visit it undoes.
   */
  readKept?(output: unknown): Promise<unknown>;
  /**
   * The signals sent to the run since the loop last looked (its inbox beyond what it was handed).
   * Asked when the result of work that took time is applied and starts more work, so that a cancel
   * or a pause sent meanwhile is applied before that work starts, not after the run went on (or
   * ended) without it.
   */
  signalsSince?(): Promise<Signal[]>;
}

export interface RunLoopResult {
  state: RunState;
  /** Work not started because the time budget was spent; carry it out in the next call. */
  unstarted: Work[];
}

/**
 * The work a checkpoint implies: steps dispatched but without a recorded result, the compensation
 * under way, the output being rendered. A loop that resumes a run after a crash starts with these,
 * so nothing is lost; a completed step is never in this list, so it never runs twice.
 */
export function unfinishedWork(state: RunState): Work[] {
  if (isFinal(state.status) || state.status === 'paused') return [];
  const work: Work[] = [];
  for (const id of state.active) {
    const step = state.steps[id]!;
    if (step.status === 'running') work.push(executeWork(id, step));
  }
  const current = state.compensation?.current;
  if (current && !current.retry_at) work.push(compensateWork(current));
  if (state.finishing) work.push({ kind: 'render_output' });
  return work;
}

/** Per step registry and workflow version: whether each of its steps, as asked, is of a pure type. */
const pureByRegistry = new WeakMap<StepRegistry, WeakMap<WorkflowDefinition, Map<string, boolean>>>();

function pureSteps(workflow: WorkflowVersion, registry: StepRegistry): Map<string, boolean> {
  let byDefinition = pureByRegistry.get(registry);
  if (byDefinition === undefined) {
    byDefinition = new WeakMap();
    pureByRegistry.set(registry, byDefinition);
  }
  let pure = byDefinition.get(workflow.definition);
  if (pure === undefined) {
    pure = new Map();
    byDefinition.set(workflow.definition, pure);
  }
  return pure;
}

export class RunLoop {
  readonly #options: RunLoopOptions;
  #state: RunState;
  readonly #inbox: Signal[] = [];
  readonly #inflight = new Set<Promise<void>>();
  readonly #done: Signal[] = [];
  #wake: (() => void) | undefined;
  readonly #unstarted: Work[] = [];
  #failure: unknown;
  /**
   * Signals applied but not yet committed (results of pure steps wait for the next commit), as one
   * open transition; the signal applied last, their number, and the steps they touched.
   */
  #pending: { transition: OpenTransition; signal: Signal; count: number; touched: Set<string> } | undefined;
  /** Observers of the signals in #pending, told once their commit is stored. */
  #observed: Array<(transition: Transition) => void> = [];
  /** The checkpoint stored last: a batch of transitions is committed as the one after it. */
  #committed: number;
  /** Whether each step of the workflow is of a pure type (shared by every run of the version). */
  readonly #pure: Map<string, boolean>;
  /** The transition applied last may not wait: commit before its work starts. */
  #mustCommit = false;
  /** The run's context, made once for the steps it carries out. */
  readonly #contexts = new RunContexts();
  /** A result of work that took time arrived since the inbox was last looked at (`signalsSince`). */
  #arrived = false;

  constructor(state: RunState, options: RunLoopOptions) {
    this.#state = state;
    this.#options = options;
    this.#committed = state.checkpoint;
    this.#pure = pureSteps(options.workflow, options.executor.registry);
  }

  get state(): RunState {
    return this.#state;
  }

  #carryOut(work: Work): Awaitable<Signal | undefined> {
    const { workflow, executor, readKept } = this.#options;
    if (work.kind === 'compensate' && work.output !== undefined && readKept !== undefined) {
      const state = this.#state;
      return readKept(work.output).then((output) =>
        carryOut({ ...work, output }, workflow, state, executor, this.#contexts),
      );
    }
    return carryOut(work, workflow, this.#state, executor, this.#contexts);
  }

  /** Adds a signal to the inbox; a running loop picks it up between results. */
  deliver(signal: Signal): void {
    this.#inbox.push(signal);
    this.#wake?.();
  }

  /**
   * Applies the signals delivered before the call (a run's inbox), then carries out the work the
   * checkpoint implies (so a run resumed after a crash continues where it was), then every result and
   * signal as it comes, until nothing is in flight, the inbox is empty and no timer is due.
   */
  async run(): Promise<RunLoopResult> {
    const interrupts: Work[] = [];
    for (const signal of this.#inbox.splice(0)) {
      const work = this.#apply(signal);
      if (this.#mustCommit) await this.#commit();
      if (work) interrupts.push(...work.filter((w) => w.kind === 'cancel_child'));
    }
    this.#start([...interrupts, ...unfinishedWork(this.#state)]);
    let overdue: string | undefined;
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      const signal = this.#done.shift() ?? this.#inbox.shift();
      if (signal) {
        // A failed attempt leaves nothing to undo, so what was sent while it ran applies before it: a
        // cancel accepted meanwhile cancels the run. Applied after it, a failure that ended the run
        // left the cancel, told 202, to a run that had failed.
        const before =
          this.#arrived && this.#inflight.size === 0 && failedAttempt(signal)
            ? await this.#news()
            : undefined;
        const work = this.#apply(signal);
        if (this.#mustCommit) await this.#commit();
        // Only a result of work that took time asks the inbox (a pure step's path stays synchronous),
        // and only once nothing else is under way: a cancel applied while a branch's call is out
        // would interrupt that step, and what the call did would never be undone.
        const asks = this.#arrived && work !== undefined && work.length > 0 && this.#inflight.size === 0;
        if (work) this.#start(asks ? await this.#afterNews(work) : work);
        if (before !== undefined && before.length > 0) this.#start(this.#stillDue(before));
        continue;
      }
      if (this.#inflight.size > 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      // A deadline that passed while the run was busy or its host was down fires now, once.
      const due = this.#dueDeadline();
      if (due === undefined || due === overdue) break;
      overdue = due;
      this.#inbox.push({ type: 'timeout' });
    }
    await this.#commit();
    return { state: this.#state, unstarted: this.#unstarted.splice(0) };
  }

  /**
   * The work to start once the signals sent meanwhile are applied (`signalsSince`): theirs, and of
   * `work` what is still due after them (nothing of a run they canceled, paused or ended).
   */
  async #afterNews(work: Work[]): Promise<Work[]> {
    const added = await this.#news();
    return added === undefined ? work : [...this.#stillDue(work), ...added];
  }

  /**
   * Applies the signals sent since the inbox was last looked at (`signalsSince`): the work they add,
   * or undefined when there were none.
   */
  async #news(): Promise<Work[] | undefined> {
    const since = this.#options.signalsSince;
    if (since === undefined) return undefined;
    this.#arrived = false;
    const news = await since();
    if (news.length === 0) return undefined;
    const added: Work[] = [];
    for (const signal of news) {
      const more = this.#apply(signal);
      if (this.#mustCommit) await this.#commit();
      if (more) added.push(...more);
    }
    return added;
  }

  /** Of `work`, what the state still asks for (nothing of a run canceled, paused or ended since). */
  #stillDue(work: Work[]): Work[] {
    const due = new Set(unfinishedWork(this.#state).map(workKey));
    return work.filter((item) => item.kind === 'cancel_child' || due.has(workKey(item)));
  }

  #dueDeadline(): string | undefined {
    const state = this.#state;
    if (isFinal(state.status) || state.status === 'paused' || this.#budgetSpent()) return undefined;
    const deadline = nextDeadline(state);
    return deadline !== undefined && Date.parse(deadline) <= this.#options.executor.clock.now().getTime()
      ? deadline
      : undefined;
  }

  #budgetSpent(): boolean {
    const budget = this.#options.budgetEndsAt;
    return budget !== undefined && this.#options.executor.clock.now().getTime() >= budget;
  }

  /**
   * Applies a signal (to the open transition, or a new one); the work it adds, or undefined when it
   * was refused (stale results are normal after a crash or a loop restart). Sets #mustCommit when the
   * signal may not wait for the next commit. Not async: an async call per applied signal was a large
   * share of a pure step's cost.
   */
  #apply(signal: Signal): Work[] | undefined {
    const options = this.#options;
    const observed = options.observe?.(this.#state, signal);
    const pending = this.#pending;
    const touched = pending?.touched ?? new Set<string>();
    const transition = pending?.transition ?? openTransition(options.workflow, this.#state, touched);
    const env = { now: options.executor.clock.now(), registry: options.executor.registry };
    if (transition.apply(signal, env) !== undefined) return undefined;
    if (pending) {
      pending.signal = signal;
      pending.count += 1;
    } else {
      this.#pending = { transition, signal, count: 1, touched };
    }
    const work = transition.dispatch();
    if (observed) this.#observed.push(observed);
    this.#mustCommit = !this.#mayWait(signal, work);
    return work;
  }

  /**
   * Whether a signal may wait for the next commit: it applied the result of a pure step and only
   * starts more pure steps, so nothing outside the run saw it or acts on it. A step with side
   * effects is dispatched, a wait begins and the run ends only in a committed state. Only a chain
   * waits (nothing else in flight): parallel branches keep committing each result, so the order in
   * which their results are applied stays the one it was, which the parity test compares.
   */
  #mayWait(signal: Signal, work: Work[]): boolean {
    if (signal.type !== 'step_result' || signal.compensation || !this.#isPure(signal.step_id)) return false;
    if (this.#inflight.size > 0 || this.#done.length > 0) return false;
    if (this.#state.status !== 'running' || work.length === 0) return false;
    if (this.#pending!.count >= MAX_BATCHED_TRANSITIONS || this.#budgetSpent()) return false;
    for (const item of work) if (item.kind !== 'execute' || !this.#isPure(item.step_id)) return false;
    return true;
  }

  #isPure(stepId: string): boolean {
    let pure = this.#pure.get(stepId);
    if (pure === undefined) {
      const step = stepGraph(this.#options.workflow.definition).steps.get(stepId);
      pure = step !== undefined && this.#options.executor.registry.get(step.type)?.pure === true;
      this.#pure.set(stepId, pure);
    }
    return pure;
  }

  /** Commits what was applied since the last commit, as the checkpoint after the stored one. */
  async #commit(): Promise<void> {
    const pending = this.#pending;
    this.#mustCommit = false;
    if (!pending) return;
    this.#pending = undefined;
    const transition = pending.transition.close();
    transition.state.checkpoint = this.#committed + 1;
    const states = transition.state.steps;
    const steps: string[] = [];
    for (const id of pending.touched) if (Object.hasOwn(states, id)) steps.push(id);
    await this.#options.persist(transition, pending.signal, steps);
    this.#committed = transition.state.checkpoint;
    const observed = this.#observed;
    this.#observed = [];
    for (const tell of observed) tell(transition);
    this.#options.committed?.(transition);
  }

  #start(work: Work[]) {
    for (const item of work) {
      if (this.#budgetSpent() && item.kind !== 'cancel_child') {
        this.#unstarted.push(item);
        continue;
      }
      const carried = this.#carryOut(item);
      if (!isPromise(carried)) {
        // Done at once (a pure step the fast path renders): applied next, without a turn of the event loop.
        if (carried) this.#done.push(carried);
        continue;
      }
      const task = carried.then(
        (signal) => {
          this.#inflight.delete(task);
          if (signal) this.#done.push(signal);
          this.#arrived = true;
          this.#wake?.();
        },
        (error: unknown) => {
          // carryOut turns step failures into results; reaching here is a defect of the host (a
          // store or a port that threw), so the run loop stops rather than invent a result.
          this.#inflight.delete(task);
          this.#failure ??= error;
          this.#wake?.();
        },
      );
      this.#inflight.add(task);
    }
  }
}

/** What a piece of work does, to tell whether it is still due. */
function workKey(work: Work): string {
  switch (work.kind) {
    case 'execute':
    case 'compensate':
      return `${work.kind}:${work.step_id}:${work.visit}:${work.attempt}`;
    case 'cancel_child':
      return `${work.kind}:${work.child_run_id}`;
    case 'render_output':
      return work.kind;
  }
}

/** The failed result of a step's attempt (not of a compensation). */
function failedAttempt(signal: Signal): boolean {
  return signal.type === 'step_result' && signal.compensation !== true && signal.result.status === 'failed';
}
