/**
 * Inbox ids of signals that people and operators send. The inbox accepts an id once, with one
 * conditional write, so ids that name what a signal answers make concurrent senders compete there:
 * exactly one is accepted and the others are told so (409), instead of all being told "accepted"
 * while the engine later drops all but one.
 */
import { createHash } from 'node:crypto';
import type { RunState } from '../engine/types.js';

/**
 * An answer to a wait: every answer that saw the same wait — the step, its visit and the answers it
 * had collected so far (an approval that needs several) — has the same id.
 */
export function answerSignalId(state: RunState, stepId: string): string {
  const step = state.steps[stepId];
  const progress = createHash('sha256')
    .update(JSON.stringify(step?.wait?.progress ?? null))
    .digest('hex')
    .slice(0, 16);
  return `answer:${stepId}:${step?.visit ?? 0}:${progress}`;
}

/**
 * A cancel, pause or unpause: one per state of the run it saw. A run is canceled once; two pauses
 * (or unpauses) sent against the same checkpoint compete for one id.
 */
export function controlSignalId(state: RunState, type: 'cancel' | 'pause' | 'unpause'): string {
  return type === 'cancel' ? cancelSignalId(state) : `${type}:${state.checkpoint}`;
}

/**
 * The cancel's id: one per redrive of the run, since the inbox remembers an id for ever and a
 * cancel the engine refused (the run had failed first) must not keep the redriven run from being
 * canceled, or answered. Answers, pauses and unpauses are put `unless` it was accepted: once a
 * cancel waits in the inbox, they are refused (409) rather than told "accepted" and then dropped by
 * the canceled run; one that came first is applied before the cancel.
 */
function cancelSignalId(state: Pick<RunState, 'redrives'>): string {
  return state.redrives ? `cancel:${state.redrives}` : 'cancel';
}

/** The cancel a parent run sends its child runs when it ends (a child is redriven only through its parent). */
export const PARENT_CANCEL_SIGNAL_ID = 'cancel:parent';

/** Every cancel that ends the run as it is now: a person's (this redrive's) and its parent's. */
export function cancelSignalIds(state: Pick<RunState, 'redrives'>): string[] {
  return [cancelSignalId(state), PARENT_CANCEL_SIGNAL_ID];
}
