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

interface StepsTarget {
  states: Record<string, StepState>;
  overrides: Record<string, StepView> | undefined;
  made: Map<string, StepView>;
}

function lookup(target: StepsTarget, key: string | symbol): StepView | undefined {
  if (typeof key !== 'string') return undefined;
  if (target.overrides && Object.hasOwn(target.overrides, key)) return target.overrides[key];
  let found = target.made.get(key);
  if (!found && Object.hasOwn(target.states, key)) {
    found = view(target.states[key]!);
    target.made.set(key, found);
  }
  return found;
}

/** One handler for every view (no closures per run context): the view's state lives in its target. */
const stepsHandler: ProxyHandler<StepsTarget> = {
  get: (target, key) => lookup(target, key),
  has: (target, key) => lookup(target, key) !== undefined,
  ownKeys: (target) => Object.keys(target.states),
  getOwnPropertyDescriptor: (target, key) => {
    const value = lookup(target, key);
    return value === undefined ? undefined : { value, enumerable: true, configurable: true, writable: false };
  },
  getPrototypeOf: () => null,
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
};

/** A read-only view of `state.steps` with only the public fields of each step, made as they are read. */
function stepsView(
  states: Record<string, StepState>,
  overrides?: Record<string, StepView>,
): RunContext['steps'] {
  const target: StepsTarget = { states, overrides, made: new Map() };
  return new Proxy(target, stepsHandler) as unknown as RunContext['steps'];
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
