/** Test support for step types: the StepExecutionContext the executor would build, over in-memory ports. */
import { ManualClock } from '../../../shared/adapters/clock.js';
import { sequentialIds } from '../../../shared/adapters/ids.js';
import { createMockAiProvider } from '../../../shared/ai/mock-provider.js';
import type { StepDefinition } from '../../../shared/definition/schema.js';
import type { StepEvent, StepResult } from '../../../shared/engine/types.js';
import { evaluate, Redactor, render } from '../../../shared/expressions/index.js';
import type { ChildRuns, StartChildRequest } from '../../../shared/ports/index.js';
import type {
  ResumeContext,
  ResumeRefusal,
  RunContext,
  StepDeps,
  StepExecutionContext,
  StepType,
} from '../../../shared/steps/types.js';
import { createMemoryStores } from '../../../shared/storage/memory/stores.js';

export const NOW = new Date('2026-03-01T12:00:00.000Z');

export interface ContextOptions {
  step?: Partial<StepDefinition>;
  context?: Partial<RunContext>;
  deps?: Partial<StepDeps>;
  now?: Date;
  visit?: number;
  attempt?: number;
  /** How deep the run is among child runs (default 0). */
  depth?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Secrets the attempt resolved (what `redact` replaces). */
  secrets?: string[];
}

export type TestContext<C> = StepExecutionContext<C> & { events: StepEvent[] };

/** Child runs that record what was started and answer `child_<n>`. */
export function recordingChildren(): ChildRuns & { started: StartChildRequest[] } {
  const started: StartChildRequest[] = [];
  return {
    started,
    async start(request) {
      started.push(request);
      return { run_id: `child_${started.length}` };
    },
    async cancel() {},
  };
}

export function runContext(overrides: Partial<RunContext> = {}): RunContext {
  return {
    inputs: {},
    static: {},
    profile: null,
    steps: {},
    run: { id: 'run_1', workflow_id: 'wf', workflow_version: 1, started_at: NOW.toISOString() },
    ...overrides,
  };
}

/** A context for one attempt of `config` (parsed by the step type's schema first, as the executor does). */
export function stepContext<C>(
  type: StepType<C>,
  config: unknown,
  options: ContextOptions = {},
): TestContext<C> {
  const context = runContext(options.context);
  const events: StepEvent[] = [];
  const redactor = new Redactor();
  for (const secret of options.secrets ?? []) redactor.add(secret);
  const deps: StepDeps = {
    http: {
      request: async () => {
        throw new Error('no HTTP in step tests');
      },
    },
    ai: createMockAiProvider({ mode: 'success', seed: 0 }),
    children: recordingChildren(),
    templates: createMemoryStores().templates,
    clock: new ManualClock(options.now ?? NOW),
    ids: sequentialIds(),
    allowPrivateNetwork: true,
    allowLoopback: true,
    ...options.deps,
  } as StepDeps;
  return {
    run: context.run,
    step: { id: 'step', type: type.type, config: config as Record<string, unknown>, ...options.step },
    visit: options.visit ?? 1,
    attempt: options.attempt ?? 1,
    depth: options.depth ?? 0,
    treeRoot: context.run.id,
    idempotencyKey: `${context.run.id}:${options.step?.id ?? 'step'}:${options.visit ?? 1}`,
    config: type.config.parse(config),
    context,
    evaluate: (expression) => evaluate(expression, context as unknown as Record<string, unknown>),
    render: (value, data) => render(value, data as unknown as RunContext),
    redact: (value) => redactor.scrub(value),
    deps,
    signal: options.signal ?? new AbortController().signal,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    now: options.now ?? NOW,
    emit: (event) => events.push(event),
    events,
  };
}

/** Runs one attempt: the result and the events the step emitted. */
export async function execute<C>(
  type: StepType<C>,
  config: unknown,
  options: ContextOptions = {},
): Promise<{ result: StepResult; events: StepEvent[] }> {
  const ctx = stepContext(type, config, options);
  const result = await type.execute(ctx);
  return { result, events: ctx.events };
}

/** The wait a step asks for; fails the test when the step did not wait. */
export async function waitOf<C>(type: StepType<C>, config: unknown, options: ContextOptions = {}) {
  const { result } = await execute(type, config, options);
  if (result.status !== 'waiting') throw new Error(`expected a wait, got ${JSON.stringify(result)}`);
  return result.wait;
}

/** Applies a resume payload to a wait, as the engine does when a resume signal arrives. */
export function resume<C>(
  type: StepType<C>,
  config: unknown,
  wait: ResumeContext<C>['wait'],
  payload: unknown,
  now: Date = NOW,
): StepResult | ResumeRefusal {
  if (!type.resume) throw new Error(`${type.type} has no resume`);
  return type.resume({ config: type.config.parse(config), wait, payload, now });
}
