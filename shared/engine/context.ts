/**
 * The run context expressions see: `{inputs, static, profile, steps, run}`. `steps` is a lazy view
 * over the run state, so rendering one placeholder does not cost a copy of every step of the run.
 */
import type { WorkflowVersion } from '../definition/schema.js';
import { type LazyEntries, lazyRecord } from '../expressions/lazy-record.js';
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

/**
 * The public fields of the run's steps, each made when read. A view is made anew on every read,
 * not kept: the engine changes the steps in place, and one record serves a run's whole life.
 */
class StepViews implements LazyEntries {
  readonly #states: Record<string, StepState>;
  readonly #overrides: Record<string, StepView> | undefined;

  constructor(states: Record<string, StepState>, overrides: Record<string, StepView> | undefined) {
    this.#states = states;
    this.#overrides = overrides;
  }

  entry(key: string): StepView | undefined {
    if (this.#overrides && Object.hasOwn(this.#overrides, key)) return this.#overrides[key];
    return Object.hasOwn(this.#states, key) ? view(this.#states[key]!) : undefined;
  }

  field(key: string, name: string): unknown {
    if (this.#overrides && Object.hasOwn(this.#overrides, key)) {
      const view = this.#overrides[key]!;
      return Object.hasOwn(view, name) ? view[name as keyof StepView] : undefined;
    }
    if (!Object.hasOwn(this.#states, key)) return undefined;
    const step = this.#states[key]!;
    // The fields `view` copies, and nothing else of the state.
    switch (name) {
      case 'status':
        return step.status;
      case 'visit':
        return step.visit;
      case 'output':
        return step.output;
      case 'error':
        return step.error;
      case 'outcome':
        return step.outcome;
      default:
        return undefined;
    }
  }

  keys(): string[] {
    return Object.keys(this.#states);
  }
}

/** A read-only view of `state.steps` with only the public fields of each step, made as they are read. */
function stepsView(
  states: Record<string, StepState>,
  overrides?: Record<string, StepView>,
): RunContext['steps'] {
  return lazyRecord<StepView>(new StepViews(states, overrides));
}

/** A workflow without `static` data: one frozen empty record for all of them. */
const NO_STATIC: Record<string, unknown> = Object.freeze({});

/**
 * The contexts of one run, kept by the run loop that renders its steps: a run loop renders every
 * step against the same inputs, profile and start, and `steps` is a view over the step states the
 * engine changes in place, so one frozen context serves them all (four objects per step less).
 *
 * Kept by the loop, and dying with it, rather than in a module-wide WeakMap keyed by the state: V8
 * records a young value stored in an old WeakMap as an old-to-new reference, which its young
 * generation collections treat as alive, so every finished run (its whole state, through the
 * context's view) was copied into the old generation and freed only by a full collection.
 */
export class RunContexts {
  #state: RunState | undefined;
  #steps: Record<string, StepState> | undefined;
  #context: RunContext | undefined;

  /** The context of `state` now: the one made last when nothing it reads has changed, else a new one. */
  of(workflow: WorkflowVersion, state: RunState, overrides?: Record<string, StepView>): RunContext {
    if (overrides !== undefined) return runContext(workflow, state, overrides);
    const kept = this.#context;
    if (
      kept !== undefined &&
      this.#state === state &&
      this.#steps === state.steps &&
      kept.inputs === state.inputs &&
      kept.profile === (state.profile ?? null) &&
      kept.static === (workflow.definition.static ?? NO_STATIC) &&
      kept.run.id === state.id &&
      kept.run.workflow_id === state.workflow_id &&
      kept.run.workflow_version === state.workflow_version &&
      kept.run.started_at === (state.started_at ?? state.created_at)
    ) {
      return kept;
    }
    const context = runContext(workflow, state);
    Object.freeze(context.run);
    this.#state = state;
    this.#steps = state.steps;
    this.#context = Object.freeze(context);
    return context;
  }
}

/** The context of a run now; `overrides` replaces the view of some steps (a compensated visit's output). */
export function runContext(
  workflow: WorkflowVersion,
  state: RunState,
  overrides?: Record<string, StepView>,
): RunContext {
  return {
    inputs: state.inputs,
    static: workflow.definition.static ?? NO_STATIC,
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
