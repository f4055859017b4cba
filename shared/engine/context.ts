/**
 * The run context expressions see: `{inputs, static, profile, steps, run}`. `steps` is a lazy view
 * over the run state, so rendering one placeholder does not cost a copy of every step of the run.
 */
import type { WorkflowVersion } from '../definition/schema.js';
import type { RunContext } from '../steps/types.js';
import type { RunState, StepState } from './types.js';

type StepView = RunContext['steps'][string];

function view(step: StepState): StepView {
  const out: StepView = { status: step.status, visit: step.visit };
  if (step.output !== undefined) out.output = step.output;
  if (step.error !== undefined) out.error = step.error;
  if (step.outcome !== undefined) out.outcome = step.outcome;
  return out;
}

/** A read-only view of `state.steps` with only the public fields of each step. */
function stepsView(
  states: Record<string, StepState>,
  overrides?: Record<string, StepView>,
): RunContext['steps'] {
  const made = new Map<string, StepView>();
  const get = (id: string): StepView | undefined => {
    if (overrides && id in overrides) return overrides[id];
    let v = made.get(id);
    if (!v && Object.hasOwn(states, id)) {
      v = view(states[id]!);
      made.set(id, v);
    }
    return v;
  };
  return new Proxy(Object.create(null) as RunContext['steps'], {
    get: (_target, key) => (typeof key === 'string' ? get(key) : undefined),
    has: (_target, key) => typeof key === 'string' && get(key) !== undefined,
    ownKeys: () => Object.keys(states),
    getOwnPropertyDescriptor: (_target, key) => {
      if (typeof key !== 'string') return undefined;
      const value = get(key);
      return value === undefined
        ? undefined
        : { value, enumerable: true, configurable: true, writable: false };
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}

/** The context of a run now; `overrides` replaces the view of some steps (a compensated visit's output). */
export function runContext(
  workflow: WorkflowVersion,
  state: RunState,
  overrides?: Record<string, StepView>,
): RunContext {
  return {
    inputs: state.inputs,
    static: workflow.definition.static ?? {},
    profile: state.profile ?? null,
    steps: stepsView(state.steps, overrides),
    run: {
      id: state.id,
      workflow_id: state.workflow_id,
      workflow_version: state.workflow_version,
      started_at: state.started_at ?? state.created_at,
    },
  };
}

/** A plain copy of the context for people and the API (`GET /context`). */
export function contextSnapshot(workflow: WorkflowVersion, state: RunState): RunContext {
  const steps: RunContext['steps'] = {};
  for (const [id, step] of Object.entries(state.steps)) steps[id] = view(step);
  return { ...runContext(workflow, state), steps };
}
