/**
 * Carries out the work the engine asks for: renders a step's config (service defaults, placeholders,
 * secrets), runs one attempt within its time limit, scrubs every resolved secret from what comes
 * back, and answers with the signal that reports the result.
 */
import { type Awaitable, andThen, isPromise } from '../awaitable.js';
import type { CompensateAction, StepDefinition, WorkflowVersion } from '../definition/schema.js';
import { RunContexts } from '../engine/context.js';
import { stepGraph } from '../engine/graph.js';
import { configTemplate, outputTemplate } from '../engine/templates.js';
import {
  nestingDepth,
  type RunState,
  type Signal,
  type StepEvent,
  type StepResult,
  treeRoot,
  type Work,
} from '../engine/types.js';
import { toErrorInfo } from '../errors.js';
import {
  type CompiledTemplate,
  evaluate,
  Redactor,
  type RenderOptions,
  render,
} from '../expressions/index.js';
import type { SecretSource } from '../ports/index.js';
import { alwaysFits, checkConfig } from '../steps/config-check.js';
import type { StepRegistry } from '../steps/registry.js';
import type { RunContext, StepDeps, StepExecutionContext, StepType } from '../steps/types.js';
import {
  type ObservabilityDeps,
  type ObservableAttempt,
  observeAttempt,
  observesAttempts,
} from './run-telemetry.js';

const NEVER_ABORTED = new AbortController().signal;

/**
 * What carrying out work needs: the step types, and the services steps use (StepDeps: one clock, one
 * id source, HTTP, AI, child runs, templates). The orchestrator's dependencies are a superset.
 */
export interface ExecutorDeps extends StepDeps, ObservabilityDeps {
  registry: StepRegistry;
  secrets?: SecretSource;
  /** Collects every secret value resolved in this process, so that logs can be scrubbed too. */
  redactor?: Redactor;
  /** Budget of one expression evaluation (default 1,000 ms). */
  expressionTimeoutMs?: number;
}

/**
 * Carries out one piece of work; the signal to apply next, or nothing (cancel_child). Synchronous
 * when the attempt is (see runAttempt); a Promise when anything had to wait. `contexts` is the
 * run's (a run loop keeps one for all the work it carries out).
 */
export function carryOut(
  work: Work,
  workflow: WorkflowVersion,
  state: RunState,
  deps: ExecutorDeps,
  contexts: RunContexts = new RunContexts(),
): Awaitable<Signal | undefined> {
  switch (work.kind) {
    case 'execute': {
      const step = findStep(workflow, work.step_id);
      const context = contexts.of(workflow, state);
      // Unobserved (the usual case on the hot path), the attempt runs without the record that
      // observing it needs.
      const result = observesAttempts(deps)
        ? observeAttempt(deps, new Attempt(step, step, work, work.deadline, workflow, state, context))
        : runAttempt(step, step, work.visit, work.attempt, work.deadline, workflow, state, context, deps);
      return isPromise(result) ? result.then((done) => resultOf(work, done)) : resultOf(work, result);
    }
    case 'compensate': {
      const step = findStep(workflow, work.step_id);
      const action = step.compensate!;
      // The compensation sees the output of the visit it undoes, even if a later visit replaced it.
      const self = state.steps[work.step_id]!;
      const overrides = {
        [work.step_id]: {
          status: 'completed',
          visit: work.visit,
          output: work.output,
          ...(self.outcome ? { outcome: self.outcome } : {}),
        },
      };
      const context = contexts.of(workflow, state, overrides);
      const result = observeAttempt(
        deps,
        new Attempt(step, action, work, undefined, workflow, state, context),
      );
      return andThen(result, (done): Signal => ({ ...resultOf(work, done), compensation: true }));
    }
    case 'render_output':
      return renderOutput(workflow, contexts.of(workflow, state), deps);
    case 'cancel_child':
      return deps.children.cancel(work.child_run_id).then(() => undefined);
  }
}

/**
 * An attempt to observe (only made when attempts are observed): what its span and duration name,
 * and how to run it with the dependencies observing hands it. One object, rather than a record of
 * names and a closure over what the attempt needs: it is made for every step.
 */
class Attempt implements ObservableAttempt {
  readonly stepId: string;
  readonly type: string;
  readonly visit: number;
  readonly attempt: number;
  readonly compensation: boolean;

  constructor(
    readonly step: StepDefinition,
    readonly action: StepDefinition | CompensateAction,
    work: { step_id: string; visit: number; attempt: number },
    readonly deadline: string | undefined,
    readonly workflow: WorkflowVersion,
    readonly state: RunState,
    readonly context: RunContext,
  ) {
    this.stepId = work.step_id;
    this.type = action.type;
    this.visit = work.visit;
    this.attempt = work.attempt;
    this.compensation = action !== step;
  }

  run(deps: ExecutorDeps): Awaitable<StepResult> {
    return runAttempt(
      this.step,
      this.action,
      this.visit,
      this.attempt,
      this.deadline,
      this.workflow,
      this.state,
      this.context,
      deps,
    );
  }
}

function resultOf(
  work: { step_id: string; visit: number; attempt: number },
  result: StepResult,
): Extract<Signal, { type: 'step_result' }> {
  return { type: 'step_result', step_id: work.step_id, visit: work.visit, attempt: work.attempt, result };
}

async function renderOutput(
  workflow: WorkflowVersion,
  context: RunContext,
  deps: ExecutorDeps,
): Promise<Signal> {
  const redactor = new Redactor();
  try {
    const output = await outputTemplate(workflow.definition).render(context, renderOptions(deps, redactor));
    return { type: 'output_rendered', output: redactor.scrub(output) };
  } catch (error) {
    const info = toErrorInfo(error);
    return {
      type: 'output_rendered',
      error: redactor.scrub({ code: 'OutputError', message: `The run's output failed: ${info.message}` }),
    };
  }
}

function findStep(workflow: WorkflowVersion, id: string): StepDefinition {
  const step = stepGraph(workflow.definition).steps.get(id);
  if (!step) throw new Error(`Step '${id}' is not in ${workflow.id} v${workflow.version}`);
  return step;
}

function renderOptions(deps: ExecutorDeps, redactor: Redactor): RenderOptions {
  // Built field by field: a spread of a conditional object costs more than the whole render.
  const options: RenderOptions = { redactor, timeoutMs: deps.expressionTimeoutMs ?? 1000 };
  if (deps.secrets) options.secrets = deps.secrets;
  return options;
}

/**
 * One attempt: the config rendered, checked against its type's schema and handed to the type, within
 * the step's time limit; every secret the attempt resolved is scrubbed from what comes back.
 * Synchronous when the render and the type are (a transform the fast path renders): an `await` per
 * layer made such a step several times slower than its work.
 */
function runAttempt(
  step: StepDefinition,
  action: StepDefinition | CompensateAction,
  visit: number,
  attempt: number,
  deadline: string | undefined,
  workflow: WorkflowVersion,
  state: RunState,
  context: RunContext,
  deps: ExecutorDeps,
): Awaitable<StepResult> {
  const redactor = new Redactor();
  let result: Awaitable<StepResult>;
  let start: AttemptContext | undefined;
  try {
    const type = deps.registry.require(action.type);
    const template = configTemplate(workflow.definition, action, type.expressionFields);
    start = new AttemptContext(
      type,
      template,
      step,
      action,
      visit,
      attempt,
      deadline,
      state,
      context,
      deps,
      redactor,
    );
    // The render is part of the attempt: its placeholders share the step's timeout_s (what is left
    // of it by the run's clock, as a time of this process's).
    const due =
      deadline === undefined
        ? undefined
        : Date.now() + Math.max(0, Date.parse(deadline) - deps.clock.now().getTime());
    const options = renderOptions(deps, redactor);
    if (due !== undefined) options.deadline = due;
    const rendered = template.renderNow(context, options);
    const started = start;
    result = isPromise(rendered)
      ? rendered.then(
          (config) => started.execute(config),
          (error: unknown) => failedRender(error, step, due),
        )
      : started.execute(rendered);
  } catch (error) {
    result = { status: 'failed', error: toErrorInfo(error) };
  }
  if (!isPromise(result)) return settled(result, start?.emitted, redactor, deps);
  return result.then(
    (done) => settled(done, start?.emitted, redactor, deps),
    (error: unknown) =>
      settled({ status: 'failed', error: toErrorInfo(error) }, start?.emitted, redactor, deps),
  );
}

/**
 * A render that failed: past the step's deadline, the attempt ran out of its `timeout_s` (a render
 * of many slow placeholders ran 38 s under a timeout_s of 3, and ended as ExpressionLimit, or even
 * completed); otherwise the render's own error.
 */
function failedRender(error: unknown, step: StepDefinition, due: number | undefined): StepResult {
  const byDeadline = (error as { details?: { deadline?: unknown } }).details?.deadline === true;
  if (due !== undefined && (byDeadline || Date.now() >= due)) return stepTimeout(step);
  return { status: 'failed', error: toErrorInfo(error) };
}

/** An attempt that outlived its step's `timeout_s` (retryable: with a retry, a new attempt starts). */
function stepTimeout(step: StepDefinition): StepResult {
  return {
    status: 'failed',
    error: {
      code: 'StepTimeout',
      message: `Step '${step.id}' took longer than its timeout_s (${step.timeout_s} s)`,
      retryable: true,
    },
  };
}

/** The result with the events the attempt emitted before its own, and every secret it resolved scrubbed. */
function settled(
  result: StepResult,
  events: StepEvent[] | undefined,
  redactor: Redactor,
  deps: ExecutorDeps,
): StepResult {
  let out = result;
  if (events !== undefined) out = { ...out, events: [...events, ...(out.events ?? [])] };
  if (redactor.size > 0) {
    for (const secret of redactor.values()) deps.redactor?.add(secret);
    out = scrubResult(out, redactor);
  }
  return out;
}

/**
 * The result with secrets replaced in what it carries (output, error message and details, what a
 * wait shows and keeps, events' data), never in what the engine reads to go on (status, outcome,
 * error code, wait kind and times, event types): a value computed from a secret may well be
 * `completed` or `approved`.
 */
function scrubResult(result: StepResult, redactor: Redactor): StepResult {
  const out = { ...result };
  if (result.events !== undefined) {
    out.events = result.events.map((event) => ({ type: event.type, data: redactor.scrub(event.data) }));
  }
  if (out.status === 'completed' && out.output !== undefined) out.output = redactor.scrub(out.output);
  if (out.status === 'failed') {
    out.error = { ...out.error, message: redactor.scrubText(out.error.message) };
    if (out.error.details !== undefined) out.error.details = redactor.scrub(out.error.details);
  }
  if (out.status === 'waiting') {
    const wait = { ...out.wait };
    if (wait.data !== undefined) wait.data = redactor.scrub(wait.data);
    if (wait.progress !== undefined) wait.progress = redactor.scrub(wait.progress);
    if (wait.timeout_output !== undefined) wait.timeout_output = redactor.scrub(wait.timeout_output);
    out.wait = wait;
  }
  return out;
}

/**
 * What a step type sees of its attempt (StepExecutionContext), once the config is rendered. One
 * object with methods rather than a literal with three closures: it is made for every attempt.
 */
class AttemptContext implements StepExecutionContext<Record<string, unknown>> {
  readonly run: RunContext['run'];
  config: Record<string, unknown> = {};
  signal: AbortSignal = NEVER_ABORTED;
  timeoutMs?: number;
  readonly deps: ExecutorDeps;
  readonly #type: StepType;
  readonly #template: CompiledTemplate;
  readonly #action: StepDefinition | CompensateAction;
  readonly #deadline: string | undefined;
  readonly #state: RunState;
  readonly #redactor: Redactor;
  /** What the type emitted (`emit`), made with the first event. */
  emitted: StepEvent[] | undefined;
  #now: Date | undefined;

  constructor(
    type: StepType,
    template: CompiledTemplate,
    readonly step: StepDefinition,
    action: StepDefinition | CompensateAction,
    readonly visit: number,
    readonly attempt: number,
    deadline: string | undefined,
    state: RunState,
    readonly context: RunContext,
    deps: ExecutorDeps,
    redactor: Redactor,
  ) {
    this.run = context.run;
    this.deps = deps;
    this.#type = type;
    this.#template = template;
    this.#action = action;
    this.#deadline = deadline;
    this.#state = state;
    this.#redactor = redactor;
  }

  /** The attempt's time, read from the clock when first asked (most types never ask). */
  get now(): Date {
    this.#now ??= this.deps.clock.now();
    return this.#now;
  }

  get depth(): number {
    return nestingDepth(this.#state);
  }

  get treeRoot(): string {
    return treeRoot(this.#state);
  }

  get idempotencyKey(): string {
    return `${this.#state.id}:${this.step.id}:${this.visit}${this.#action === this.step ? '' : ':compensate'}`;
  }

  evaluate(expression: string): Promise<unknown> {
    return evaluate(expression, this.context as unknown as Record<string, unknown>, {
      timeoutMs: this.deps.expressionTimeoutMs ?? 1000,
    });
  }

  // The renderer reads its context as plain data: any object serves as the names placeholders see.
  render(value: unknown, data: Record<string, unknown>): Promise<unknown> {
    return render(value, data as unknown as RunContext, renderOptions(this.deps, this.#redactor));
  }

  redact<T>(value: T): T {
    return this.#redactor.size > 0 ? this.#redactor.scrub(value) : value;
  }

  emit(event: StepEvent): void {
    this.emitted ??= [];
    this.emitted.push(event);
  }

  /** Checks the rendered config and runs the type's attempt, within the step's time limit. */
  execute(rendered: unknown): Awaitable<StepResult> {
    if (alwaysFits(this.#template)) return this.#run(rendered as Record<string, unknown>);
    const config = checkConfig(this.#type, this.#template, rendered);
    if (!config.success) {
      const issues = config.error.issues.map((i) => `${['config', ...i.path].join('.')}: ${i.message}`);
      return {
        status: 'failed',
        error: {
          code: 'InvalidConfig',
          message: `The rendered config is not valid: ${issues.join('; ')}`,
          retryable: false,
        },
      };
    }
    return this.#run(config.data as Record<string, unknown>);
  }

  /** Runs the type's attempt on its checked config, within the step's time limit. */
  #run(config: Record<string, unknown>): Awaitable<StepResult> {
    this.config = config;
    if (this.#deadline === undefined) return this.#type.execute(this);
    const timeoutMs = Math.max(0, Date.parse(this.#deadline) - this.now.getTime());
    const controller = new AbortController();
    this.signal = controller.signal;
    this.timeoutMs = timeoutMs;
    const running = this.#type.execute(this);
    // An attempt that answered at once has nothing left to time.
    if (!isPromise(running)) return running;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<StepResult>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve(stepTimeout(this.step));
      }, timeoutMs);
    });
    return Promise.race([running, timedOut]).finally(() => clearTimeout(timer));
  }
}
