/**
 * The state machine's loop in this process, without Step Functions: Advance, then Route — at once
 * again, await a signal (with a timeout when a timer is due), sleep until a timer, hand off, or end —
 * over the same orchestrator functions. The harness and `flowrunner run` drive runs with it; the
 * local runtime runs the deployed definition itself (infra/local/runtime.ts).
 */
import { isFinal, nextDeadline } from '../engine/transition.js';
import type { Executions, TaskTokens } from '../ports/index.js';
import { composeOrchestrator, type OrchestratorPorts, type OrchestratorSettings } from './compose.js';
import { Directive, type ExecutionInput } from './directive.js';
import { advance, awaitSignal, executionName, type OrchestratorDeps } from './orchestrator.js';

export interface InProcessOptions {
  /** Fire timers by real time (setTimeout); otherwise only `fireDueTimers()` fires them (a manual clock). */
  realTime: boolean;
  /** Advance's time budget per call (default 60 s). */
  budgetMs?: number;
}

/** An execution that waits: for its token (AwaitSignal) or only for its timer (Sleep). */
interface Parked {
  input: ExecutionInput;
  transitions: number;
  token?: string;
  /** When a timer ends the wait (ms since the epoch), as the state machine would time it out. */
  until?: number;
  timer?: NodeJS.Timeout;
}

export class InProcessStateMachine implements Executions, TaskTokens {
  readonly deps: OrchestratorDeps;
  readonly #options: InProcessOptions;
  /** Execution names started so far: as StartExecution, a repeated name starts nothing. */
  readonly #names = new Set<string>();
  readonly #parked = new Map<string, Parked>();
  /** The segments of executions running now (from a wake to the next wait): `idle()` waits for these. */
  readonly #busy = new Set<Promise<void>>();
  #tokens = 0;
  #failure: unknown;

  constructor(
    ports: Omit<OrchestratorPorts, 'tokens' | 'executions'>,
    settings: OrchestratorSettings,
    options: InProcessOptions,
  ) {
    this.#options = options;
    this.deps = composeOrchestrator({ ...ports, tokens: this, executions: this }, settings);
  }

  async start(input: ExecutionInput, name: string): Promise<void> {
    if (this.#names.has(name)) return;
    this.#names.add(name);
    this.#run(input, 0);
  }

  async complete(token: string): Promise<void> {
    for (const [runId, parked] of this.#parked) {
      if (parked.token !== token) continue;
      this.#unpark(runId, parked);
      this.#run(parked.input, parked.transitions);
    }
  }

  /** Ends every wait whose run has a deadline at or before the clock's time, as the state machine's timeouts would. */
  async fireDueTimers(): Promise<number> {
    const now = this.deps.clock.now().toISOString();
    let fired = 0;
    for (const [runId, parked] of [...this.#parked]) {
      const { state } = await this.deps.stores.runs.get(runId);
      const due = isFinal(state.status) ? undefined : nextDeadline(state);
      if (due === undefined || due > now || this.#parked.get(runId) !== parked) continue;
      this.#unpark(runId, parked);
      this.#run(parked.input, parked.transitions, true);
      fired++;
    }
    return fired;
  }

  /** Waits until no execution is between a wake and its next wait; rethrows what failed one. */
  async idle(): Promise<void> {
    while (this.#busy.size > 0) await Promise.all(this.#busy);
    if (this.#failure !== undefined) throw this.#failure;
  }

  /** Stops the real-time timers so the process can exit; parked executions stay parked. */
  close(): void {
    for (const parked of this.#parked.values()) clearTimeout(parked.timer);
  }

  #run(input: ExecutionInput, transitions: number, timedOut = false) {
    const segment = this.#segment(input, transitions, timedOut).catch((error: unknown) => {
      this.#failure ??= error;
    });
    this.#busy.add(segment);
    void segment.finally(() => this.#busy.delete(segment));
  }

  /** Advance and Route until the execution waits or ends; each pass counts its two state transitions. */
  async #segment(input: ExecutionInput, transitions: number, timedOut: boolean): Promise<void> {
    let count = transitions;
    let timeout = timedOut;
    for (;;) {
      const out = await advance(
        { ...input, transitions: count, ...(timeout ? { signal: { type: 'timeout' as const } } : {}) },
        this.deps,
        { budgetMs: this.#options.budgetMs ?? 60_000 },
      );
      count += 2;
      timeout = false;
      switch (out.directive) {
        case Directive.continue:
          continue;
        case Directive.await: {
          const token = `${input.run_id}:${++this.#tokens}`;
          const until =
            out.wait_seconds === undefined
              ? undefined
              : this.deps.clock.now().getTime() + out.wait_seconds * 1000;
          // Parked before AwaitSignal runs: it completes the token at once when a signal came early.
          this.#park({ input, transitions: count, token, ...(until === undefined ? {} : { until }) });
          await awaitSignal(
            { run_id: input.run_id, checkpoint: out.checkpoint, task_token: token },
            this.deps,
          );
          return;
        }
        case Directive.sleep:
          this.#park({ input, transitions: count, until: Date.parse(out.sleep_until!) });
          return;
        case Directive.handoff: {
          const next = { run_id: input.run_id, generation: input.generation + 1 };
          await this.start(next, executionName(next.run_id, next.generation));
          return;
        }
        default:
          return;
      }
    }
  }

  #park(parked: Parked) {
    this.#parked.set(parked.input.run_id, parked);
    if (!this.#options.realTime || parked.until === undefined) return;
    const delay = Math.max(0, parked.until - this.deps.clock.now().getTime());
    parked.timer = setTimeout(() => {
      if (this.#parked.get(parked.input.run_id) !== parked) return;
      this.#unpark(parked.input.run_id, parked);
      this.#run(parked.input, parked.transitions, true);
    }, delay);
  }

  #unpark(runId: string, parked: Parked) {
    clearTimeout(parked.timer);
    this.#parked.delete(runId);
  }
}
