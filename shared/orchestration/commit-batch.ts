/**
 * What the run loop hands to a commit: the steps a transition may have changed (so a store can write
 * a delta instead of the whole run), and several transitions merged into one when results of pure
 * steps wait for the next commit.
 */
import type { WorkflowVersion } from '../definition/schema.js';
import { applyTouched, type EngineEnv } from '../engine/transition.js';
import type { RunEvent, RunState, Signal, StepExecution, Transition } from '../engine/types.js';

/**
 * Applies a signal and names the steps the engine may have changed: every step the transition read
 * or wrote (the engine notes each access to a step: applyTouched), a superset of what changed.
 * (A proxy on `state.steps` told the same, at the price of a trap on every read: half the engine's time.)
 */
export function applyTracked(
  workflow: WorkflowVersion,
  state: RunState,
  signal: Signal,
  env: EngineEnv,
): { transition: Transition; steps: string[] | undefined } {
  const { transition, touched } = applyTouched(workflow, state, signal, env);
  const steps = transition.state.steps;
  return { transition, steps: touched.filter((id) => Object.hasOwn(steps, id)) };
}

/**
 * Transitions applied since the last commit, as one. The events and history rows of a batch are
 * gathered in place, a transition at a time (rebuilding them on every merge made a batch of k pure
 * steps cost O(k²)); `committed` makes the transition the store writes.
 */
export interface PendingCommit {
  /** The transition applied last: its state and work are the batch's. */
  transition: Transition;
  /** The signal applied last (the one whose inbox seq the commit records, if any). */
  signal: Signal;
  /** The steps the batch may have changed; undefined: not known (the store writes the whole state). */
  steps: Set<string> | undefined;
  count: number;
  /** Set once a second transition joins: every event so far, and the history rows by step and visit. */
  merged?: { events: RunEvent[]; history: Map<string, StepExecution> };
}

/** Adds a transition to what waits for the next commit. */
export function mergeCommit(
  pending: PendingCommit | undefined,
  transition: Transition,
  signal: Signal,
  steps: string[] | undefined,
): PendingCommit {
  if (!pending) return { transition, signal, steps: steps && new Set(steps), count: 1 };
  pending.merged ??= {
    events: [...pending.transition.events],
    history: addRows(new Map(), pending.transition.history),
  };
  const merged = pending.merged;
  merged.events.push(...transition.events);
  addRows(merged.history, transition.history);
  if (pending.steps === undefined || steps === undefined) pending.steps = undefined;
  else for (const id of steps) pending.steps.add(id);
  pending.transition = transition;
  pending.signal = signal;
  pending.count += 1;
  return pending;
}

/** The transition a batch stands for: the last state and work, every event, each row merged by step and visit. */
export function committed(pending: PendingCommit): { transition: Transition; steps: string[] | undefined } {
  const steps = pending.steps && [...pending.steps];
  const merged = pending.merged;
  if (!merged) return { transition: pending.transition, steps };
  const last = pending.transition;
  return {
    transition: {
      state: last.state,
      work: last.work,
      events: merged.events,
      history: [...merged.history.values()],
      accepted: true,
    },
    steps,
  };
}

/**
 * A later row of the same step and visit is merged into the earlier one, as the stores merge rows.
 * The earlier row is updated in place: it belongs to a transition of this batch, which nobody reads
 * once it joined (a copy per merge made this the engine's most expensive line).
 */
function addRows(
  rows: Map<string, StepExecution>,
  added: readonly StepExecution[],
): Map<string, StepExecution> {
  for (const row of added) {
    const key = `${row.step_id}\u0000${row.visit}`;
    const known = rows.get(key);
    if (known) Object.assign(known, row);
    else rows.set(key, row);
  }
  return rows;
}
