/**
 * Drives one run: applies signals from its inbox, carries out the work they produce (steps of
 * parallel branches at the same time), and persists after every transition. The in-memory harness,
 * the Advance Lambda and the local runtime all run runs through this loop.
 */
import type { WorkflowVersion } from '../definition/schema.js';
import { apply, compensateWork, executeWork, isFinal } from '../engine/transition.js';
import type { RunState, Signal, Transition, Work } from '../engine/types.js';
import type { Clock } from '../ports/index.js';
import { carryOut, type ExecutorDeps } from './executor.js';

export interface RunLoopOptions {
  workflow: WorkflowVersion;
  executor: ExecutorDeps;
  clock: Clock;
  /** Stores a transition: the checkpointed state, its events and history. Called after every accepted signal. */
  persist(transition: Transition): Promise<void>;
  /** Told about signals that did not apply (stale results are normal after a crash or a loop restart). */
  onRejected?(signal: Signal, transition: Transition): void;
  /** After this time (ms since the epoch) no new work is started; what is left is returned. */
  budgetEndsAt?: number;
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

export class RunLoop {
  readonly #options: RunLoopOptions;
  #state: RunState;
  readonly #inbox: Signal[] = [];
  readonly #inflight = new Set<Promise<void>>();
  readonly #done: Signal[] = [];
  #wake: (() => void) | undefined;
  readonly #unstarted: Work[] = [];
  #failure: unknown;

  constructor(state: RunState, options: RunLoopOptions) {
    this.#state = state;
    this.#options = options;
  }

  get state(): RunState {
    return this.#state;
  }

  /** Adds a signal to the inbox; a running loop picks it up between results. */
  deliver(signal: Signal): void {
    this.#inbox.push(signal);
    this.#wake?.();
  }

  /** Runs until nothing is in flight and the inbox is empty. `resume` restarts unfinished work first. */
  async run(resume: Work[] = []): Promise<RunLoopResult> {
    this.#start(resume);
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      const signal = this.#done.shift() ?? this.#inbox.shift();
      if (signal) {
        await this.#apply(signal);
        continue;
      }
      if (this.#inflight.size === 0) break;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
    return { state: this.#state, unstarted: this.#unstarted.splice(0) };
  }

  async #apply(signal: Signal) {
    const options = this.#options;
    const transition = apply(options.workflow, this.#state, signal, {
      now: options.clock.now(),
      registry: options.executor.registry,
    });
    if (!transition.accepted) {
      options.onRejected?.(signal, transition);
      return;
    }
    this.#state = transition.state;
    await options.persist(transition);
    this.#start(transition.work);
  }

  #start(work: Work[]) {
    for (const item of work) {
      const budget = this.#options.budgetEndsAt;
      if (
        budget !== undefined &&
        this.#options.clock.now().getTime() >= budget &&
        item.kind !== 'cancel_child'
      ) {
        this.#unstarted.push(item);
        continue;
      }
      const task = carryOut(item, this.#options.workflow, this.#state, this.#options.executor).then(
        (signal) => {
          this.#inflight.delete(task);
          if (signal) this.#done.push(signal);
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
