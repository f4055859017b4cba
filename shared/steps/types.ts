/**
 * What a step type is: a config schema, its outcomes, and the code that runs one attempt.
 * Built-in types and custom ones are defined the same way, with `defineStepType`.
 */
import type { z } from 'zod';
import type { Awaitable } from '../awaitable.js';
import type { StepDefinition } from '../definition/schema.js';
import type { StepEvent, StepResult, WaitSpec } from '../engine/types.js';
import type { ErrorIssue } from '../errors.js';
import type {
  AiProvider,
  ChildRuns,
  Clock,
  HttpClient,
  Ids,
  Notifier,
  PromptTemplateSource,
} from '../ports/index.js';

/** What expressions see: `{inputs, static, profile, steps, run}` (and `secrets` while rendering). */
export interface RunContext {
  inputs: unknown;
  static: Record<string, unknown>;
  profile: unknown;
  steps: Record<
    string,
    { status: string; output?: unknown; error?: unknown; outcome?: string; visit: number }
  >;
  run: { id: string; workflow_id: string; workflow_version: number; started_at: string };
}

/** The ports a step may use; one wiring module per runtime fills them in. */
export interface StepDeps {
  http: HttpClient;
  ai: AiProvider;
  children: ChildRuns;
  templates: PromptTemplateSource;
  clock: Clock;
  ids: Ids;
  /** CONTRACT §5: may `api_call` reach private ranges (default false). */
  allowPrivateNetwork: boolean;
  /** CONTRACT §5: may `api_call` reach loopback (the local default true, the cloud default false). */
  allowLoopback: boolean;
  /** Tells people that a form or an approval waits for them (CONTRACT §8); none: nobody is told. */
  notifier?: Notifier;
}

export interface StepExecutionContext<C> {
  run: RunContext['run'];
  step: StepDefinition;
  visit: number;
  attempt: number;
  /** How deep the run is among child runs: 0 for a run started on its own, 1 for its child, and so on. */
  depth: number;
  /** The run at the top of this run's tree of child runs: this run, when it was started on its own. */
  treeRoot: string;
  /**
   * Stable across the attempts of one visit, for the side effects of this step: `<run>:<step>:<visit>`,
   * and `<run>:<step>:<visit>:compensate` for its compensation (an undo is another request).
   */
  idempotencyKey: string;
  /** The step's config: service defaults merged under it, placeholders resolved (expression fields left as written). */
  config: C;
  /** The run context the placeholders were resolved against (secrets not included). */
  context: RunContext;
  /** Evaluates one expression field (such as `when`) against the run context. */
  evaluate(expression: string): Promise<unknown>;
  /**
   * Resolves the placeholders of `value` against `data` instead of the run context (a prompt
   * template against its variables), with the same sandbox, budget, secrets and redaction as the
   * step's config: a secret resolved here is scrubbed from the step's result and events too.
   */
  render(value: unknown, data: Record<string, unknown>): Promise<unknown>;
  /**
   * A copy of `value` with every secret this attempt resolved (and what its placeholders computed
   * from them) replaced by `[REDACTED]`, for what a step stores or shows outside its result, which
   * is redacted for it (a notification).
   */
  redact<T>(value: T): T;
  deps: StepDeps;
  /** Aborted when the attempt's time is up. */
  signal: AbortSignal;
  /** The attempt's time budget in milliseconds (the step's `timeout_s`, if any). */
  timeoutMs?: number;
  now: Date;
  /** Records an event such as `ai.request`; returned with the result. */
  emit(event: StepEvent): void;
}

/** Applying a resume (a form submission, an approval decision) to a waiting step: pure and synchronous. */
export interface ResumeContext<C> {
  config: C;
  wait: WaitSpec;
  payload: unknown;
  now: Date;
}

/** Why a resume payload is refused: 422 invalid content, 403 not allowed to answer. */
export interface ResumeRefusal {
  status: 403 | 422;
  message: string;
  issues: ErrorIssue[];
}

export interface StepType<C = Record<string, unknown>> {
  type: string;
  description?: string;
  /** The schema of `config` as written in a workflow (placeholders allowed where a value is templated). */
  config: z.ZodType<C>;
  /** The outcomes this step can produce for the given config (keys allowed in a `next` map). */
  outcomes(config: C): readonly string[];
  /** Action types can be used as `compensate` actions. */
  action: boolean;
  /**
   * True for a type whose attempt has no effect outside the run (it only computes its output from
   * the run context). Its result may be committed together with the next step that has one: after
   * a crash it is computed again, and nobody saw it.
   */
  pure?: boolean;
  /** Top-level config keys holding expressions (evaluated by the step, not rendered as templates). */
  expressionFields?: readonly string[];
  /**
   * Runs one attempt. Throw a FlowrunnerError (its `retryable` decides retries) or return a result;
   * a type with nothing to wait for may return it directly (the run loop then goes on without a turn
   * of the event loop).
   */
  execute(ctx: StepExecutionContext<C>): Awaitable<StepResult>;
  /** Applies a resume to a waiting step of this type; required for types that wait for people. */
  resume?(ctx: ResumeContext<C>): StepResult | ResumeRefusal;
  /** Semantic checks of a config beyond its schema (e.g. a regex that does not compile). */
  check?(config: C): ErrorIssue[];
}

/** Defines a step type with its config type inferred from its zod schema. */
export function defineStepType<S extends z.ZodType>(
  definition: Omit<StepType<z.infer<S>>, 'config'> & { config: S },
): StepType<z.infer<S>> {
  return definition as StepType<z.infer<S>>;
}

export function isResumeRefusal(value: StepResult | ResumeRefusal): value is ResumeRefusal {
  return 'status' in value && (value.status === 403 || value.status === 422);
}
