/**
 * What one commit changed in a run's state, and how a reader puts the state back together from a
 * snapshot and the deltas after it. A delta holds the run's changeable top-level fields as they are
 * now (they are few and small), the steps the commit changed, whole, and the completions it added:
 * its size follows the commit, not the run.
 */
import type { Completion, RunState, StepState } from '../engine/types.js';

/** Fields set when a run is created and never changed: a delta leaves them out. */
const FIXED = new Set<string>([
  'id',
  'workflow_id',
  'workflow_version',
  'created_at',
  'inputs',
  'profile',
  'parent',
]);
/** Fields a delta carries in their own form rather than whole. */
const APART = new Set<string>(['steps', 'completions']);

export interface StateDelta {
  /** Every changeable top-level field of the run except steps and completions, as it is now. */
  run: Record<string, unknown>;
  /** The steps the commit may have changed, as they are now. */
  steps: Record<string, StepState>;
  /** Completions appended since the state the delta applies to. */
  completions: Completion[];
}

/**
 * The delta from the run as it was (with `completionsBefore` completions) to `state`. `steps` lists
 * the steps that may have changed; undefined when the changes are not known (then a delta cannot be
 * made: write a snapshot).
 */
export function stateDelta(
  state: RunState,
  steps: readonly string[],
  completionsBefore: number,
): StateDelta | undefined {
  // Completions only ever grow; anything else (a host that rewrote them) needs a snapshot.
  if (state.completions.length < completionsBefore) return undefined;
  const run: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(state)) {
    if (!FIXED.has(key) && !APART.has(key)) run[key] = value;
  }
  const changed: Record<string, StepState> = {};
  for (const id of steps) {
    const step = state.steps[id];
    if (step === undefined) return undefined;
    changed[id] = step;
  }
  return { run, steps: changed, completions: state.completions.slice(completionsBefore) };
}

/** Applies a delta to the state it follows (in place) and returns it. */
export function applyDelta(state: RunState, delta: StateDelta): RunState {
  const target = state as unknown as Record<string, unknown>;
  for (const key of Object.keys(target)) {
    if (!FIXED.has(key) && !APART.has(key)) delete target[key];
  }
  Object.assign(target, delta.run);
  Object.assign(state.steps, delta.steps);
  state.completions.push(...delta.completions);
  return state;
}
