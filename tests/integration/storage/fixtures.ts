/** Runs, workflows and listeners for the storage tests, shaped as the engine and the API produce them. */
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import type {
  EventType,
  RunEvent,
  RunState,
  RunStatus,
  StepExecution,
  Transition,
} from '../../../shared/engine/types.js';
import type { ListenerDefinition } from '../../../shared/ports/index.js';

export function workflowDefinition(id: string, extra: Partial<WorkflowDefinition> = {}): WorkflowDefinition {
  return {
    schema_version: '1.0',
    id,
    steps: [{ id: 'only', type: 'transform', config: { output: { id } } }],
    ...extra,
  };
}

export interface RunOptions {
  workflow_id?: string;
  workflow_version?: number;
  status?: RunStatus;
  created_at?: string;
}

export interface NextOptions {
  status?: RunStatus;
  events?: Array<{ type: EventType; step_id?: string; data?: Record<string, unknown> }>;
  history?: StepExecution[];
  /** Extra state fields (outputs, errors) to set on the new state. */
  patch?: Partial<RunState>;
  at?: string;
}

/**
 * The transitions of one run, each a fresh object as `apply` returns it: checkpoint + 1, the seq
 * advanced by its events. `fork()` gives a second script at the same point, for races.
 */
export class RunScript {
  state: RunState;

  constructor(id: string, options: RunOptions = {}, state?: RunState) {
    const at = options.created_at ?? '2026-01-01T00:00:00.000Z';
    this.state = state ?? {
      id,
      workflow_id: options.workflow_id ?? 'wf',
      workflow_version: options.workflow_version ?? 1,
      status: options.status ?? 'queued',
      inputs: { customer: 'Ann', tags: ['a', 'b'], nested: { n: 1, ok: true, none: null } },
      created_at: at,
      updated_at: at,
      seq: 0,
      checkpoint: 0,
      steps: { first: { status: 'pending', visit: 0, attempt: 0 } },
      active: [],
      completions: [],
    };
  }

  get id(): string {
    return this.state.id;
  }

  /** The `createRun` transition: checkpoint 0 with its `run.created` event. */
  created(): Transition {
    const event: RunEvent = {
      seq: 1,
      type: 'run.created',
      at: this.state.created_at,
      data: { workflow_id: this.state.workflow_id },
    };
    this.state = { ...structuredClone(this.state), seq: 1 };
    return { state: structuredClone(this.state), work: [], events: [event], history: [], accepted: true };
  }

  next(options: NextOptions = {}): Transition {
    const state = structuredClone(this.state);
    const at = options.at ?? state.updated_at;
    const events = (options.events ?? [{ type: 'step.started' as const, step_id: 'first' }]).map(
      (e): RunEvent => ({
        seq: ++state.seq,
        type: e.type,
        at,
        ...(e.step_id === undefined ? {} : { step_id: e.step_id }),
        data: e.data ?? {},
      }),
    );
    Object.assign(state, options.patch ?? {});
    if (options.status) state.status = options.status;
    state.checkpoint += 1;
    state.updated_at = at;
    this.state = state;
    return {
      state: structuredClone(state),
      work: [],
      events,
      history: options.history ?? [],
      accepted: true,
    };
  }

  fork(): RunScript {
    return new RunScript(this.id, {}, structuredClone(this.state));
  }
}

export function listener(
  id: string,
  type: ListenerDefinition['type'],
  match: Record<string, unknown>,
): ListenerDefinition {
  const at = '2026-01-01T00:00:00.000Z';
  return { id, type, workflow_id: `wf-${id}`, match, enabled: true, created_at: at, updated_at: at };
}

/** Runs a promise that must fail and returns what it threw. */
export async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure, but the call succeeded');
}

/**
 * Transitions shaped like the engine's: each changes one or two steps, now and then adds a
 * completion, sets or drops a top-level field and changes the status. `next()` also names the steps
 * it changed, as the run loop does, so a store can write deltas. The same id and number of commits
 * always give the same states (a killed writer's parent can tell what each checkpoint held).
 */
export class StepScript {
  readonly run: RunScript;
  #n = 0;

  constructor(id: string, steps = 8) {
    this.run = new RunScript(id);
    this.run.state.steps = Object.fromEntries(
      Array.from({ length: steps }, (_, i) => [
        `s${i}`,
        { status: 'pending' as const, visit: 0, attempt: 0 },
      ]),
    );
  }

  get state(): RunState {
    return this.run.state;
  }

  created(): Transition {
    return this.run.created();
  }

  next(): { transition: Transition; steps: string[] } {
    const n = ++this.#n;
    const count = Object.keys(this.run.state.steps).length;
    const changed = [`s${n % count}`, ...(n % 4 === 0 ? [`s${(n + 3) % count}`] : [])];
    const steps = structuredClone(this.run.state.steps);
    for (const id of changed) {
      const step = steps[id]!;
      step.visit += 1;
      step.status = n % 2 === 0 ? 'completed' : 'running';
      step.output = { n, text: `output of commit ${n}` };
      if (n % 3 === 0) delete step.output;
    }
    const patch: Partial<RunState> = {
      steps,
      active: changed,
      last_completed: changed[0]!,
      ...(n % 5 === 0
        ? { completions: [...this.run.state.completions, { step_id: changed[0]!, visit: n, output: { n } }] }
        : {}),
    };
    const transition = this.run.next({
      status: n % 3 === 0 ? 'waiting' : 'running',
      events: [{ type: 'step.started', step_id: changed[0]!, data: { n } }],
      history: [
        { step_id: changed[0]!, visit: n, type: 'transform', status: 'completed', attempt: 1, output: { n } },
      ],
      patch,
    });
    const state = transition.state as RunState & { finishing?: boolean };
    if (n % 7 === 0) state.finishing = true;
    else delete state.finishing;
    this.run.state = structuredClone(state);
    return { transition, steps: changed };
  }
}
