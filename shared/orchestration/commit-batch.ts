/**
 * What the run loop hands to a commit: the steps a transition may have changed (so a store can write
 * a delta instead of the whole run), and several transitions merged into one when results of pure
 * steps wait for the next commit.
 */
import type { WorkflowVersion } from '../definition/schema.js';
import { apply, type EngineEnv } from '../engine/transition.js';
import type { RunState, Signal, StepExecution, Transition } from '../engine/types.js';

/**
 * Applies a signal and names the steps the engine may have changed: every step it read or wrote
 * through `state.steps`, seen by a proxy on that one object for the duration of the call. Every way
 * of reaching a step goes through the proxy's get (property reads, spreads, Object.values, JSON), so
 * the list is a superset of what changed, whatever the engine's code looks like. Should the engine
 * replace or delete steps wholesale, the answer is undefined: the store then writes the whole state.
 */
export function applyTracked(
  workflow: WorkflowVersion,
  state: RunState,
  signal: Signal,
  env: EngineEnv,
): { transition: Transition; steps: string[] | undefined } {
  const steps = state.steps;
  const touched = new Set<string>();
  let wholesale = false;
  const tracked = new Proxy(steps, {
    get(target, key, receiver) {
      if (typeof key === 'string') touched.add(key);
      return Reflect.get(target, key, receiver);
    },
    set(target, key, value, receiver) {
      if (typeof key === 'string') touched.add(key);
      return Reflect.set(target, key, value, receiver);
    },
    defineProperty(target, key, descriptor) {
      if (typeof key === 'string') touched.add(key);
      return Reflect.defineProperty(target, key, descriptor);
    },
    deleteProperty(target, key) {
      wholesale = true;
      return Reflect.deleteProperty(target, key);
    },
  });
  state.steps = tracked;
  let transition: Transition;
  try {
    transition = apply(workflow, state, signal, env);
  } finally {
    if (state.steps === tracked) state.steps = steps;
    else wholesale = true;
  }
  const after = transition.state;
  if (after.steps === tracked) after.steps = steps;
  if (wholesale || after !== state || after.steps !== steps) return { transition, steps: undefined };
  return { transition, steps: [...touched].filter((id) => Object.hasOwn(steps, id)) };
}

/** Transitions applied since the last commit, as one. */
export interface PendingCommit {
  transition: Transition;
  /** The signal applied last (the one whose inbox seq the commit records, if any). */
  signal: Signal;
  steps: string[] | undefined;
  count: number;
}

/** Adds a transition to what waits for the next commit. */
export function mergeCommit(
  pending: PendingCommit | undefined,
  transition: Transition,
  signal: Signal,
  steps: string[] | undefined,
): PendingCommit {
  if (!pending) return { transition, signal, steps, count: 1 };
  const merged: Transition = {
    state: transition.state,
    work: transition.work,
    events: [...pending.transition.events, ...transition.events],
    history: mergeHistory(pending.transition.history, transition.history),
    accepted: true,
  };
  const union =
    pending.steps === undefined || steps === undefined
      ? undefined
      : [...new Set([...pending.steps, ...steps])];
  return { transition: merged, signal, steps: union, count: pending.count + 1 };
}

/** History patches of two transitions as one: a later patch of the same row is merged into it, in place. */
function mergeHistory(first: StepExecution[], second: StepExecution[]): StepExecution[] {
  const rows = new Map<string, StepExecution>();
  for (const row of [...first, ...second]) {
    const key = `${row.step_id}\u0000${row.visit}`;
    const known = rows.get(key);
    rows.set(key, known ? { ...known, ...row } : row);
  }
  return [...rows.values()];
}
