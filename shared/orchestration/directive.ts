/**
 * What the Advance function tells the state machine to do next, and what the state machine passes
 * back. The state machine module (infra/state-machine.ts) routes on `directive`; the handlers in
 * shared/orchestration produce it. Both sides import these types, so they cannot drift apart.
 */
import type { Signal } from '../engine/types.js';

export const Directive = {
  /** Work is left (the time budget ran out): invoke Advance again at once. */
  continue: 'continue',
  /** Every branch waits for a signal (a person, a child run, a timer): AwaitSignal, with a timeout when a timer is due. */
  await: 'await',
  /**
   * Only timers are pending (retry backoffs, `wait` steps) and the nearest is at most SLEEP_MAX_S
   * away: a Wait state until `sleep_until`, which costs no Lambda invocation. A signal that arrives
   * meanwhile (a cancel) waits in the inbox and is applied when the Wait ends, at most that late.
   */
  sleep: 'sleep',
  /** The execution's history is nearly used up: start a fresh execution for the run, then succeed. */
  handoff: 'handoff',
  done: 'done',
  failed: 'failed',
  canceled: 'canceled',
} as const;
export type Directive = (typeof Directive)[keyof typeof Directive];

/** The longest Sleep: beyond it, a run waits in AwaitSignal so that a cancel or pause applies at once. */
export const SLEEP_MAX_S = 60;

/** The input of a run's execution: the run id, and how many executions came before (handoff). */
export interface ExecutionInput {
  run_id: string;
  /** 0 for the first execution of a run; +1 for each handoff. */
  generation: number;
}

/** The payload Advance receives. */
export interface AdvanceInput {
  run_id: string;
  generation: number;
  /** A signal handed in by the state machine itself (the timeout of AwaitSignal or the end of a Sleep). */
  signal?: Extract<Signal, { type: 'timeout' }>;
  /** State transitions this execution has made so far (counted by the state machine), for handoff. */
  transitions?: number;
  /**
   * The error a previous Advance of this execution kept failing with, its retries spent (the Task's
   * Catch output): this Advance fails the run with it before any step runs (advance-failure.ts).
   */
  failure?: AdvanceFailure;
}

/** A Task's error as Step Functions hands it to a Catch: its name, and a cause (Lambda's: a JSON object). */
export interface AdvanceFailure {
  Error?: string | null | undefined;
  Cause?: string | null | undefined;
}

/** What Advance returns; the state machine keeps it at `$.advance`. */
export interface AdvanceOutput {
  run_id: string;
  generation: number;
  directive: Directive;
  /** With `await`: seconds until the nearest timer (AwaitSignal's TimeoutSecondsPath); absent: no timeout. */
  wait_seconds?: number;
  /** With `sleep`: when to wake (ISO-8601, the Wait state's TimestampPath). */
  sleep_until?: string;
  /** The run's checkpoint after this invocation; AwaitSignal stores its task token only while it still holds. */
  checkpoint: number;
  /** The run's workflow, for the invocation's log line (no second read of the run). */
  workflow_id?: string;
  workflow_version?: number;
  /** The run's trace id, for the invocation's log line. */
  trace_id?: string;
}

/** The payload AwaitSignal receives (with the task token of `$$.Task.Token`). */
export interface AwaitSignalInput {
  run_id: string;
  checkpoint: number;
  task_token: string;
}
