/**
 * What the orchestration tells traces and metrics (CONTRACT §10), kept apart from the code that
 * moves runs: each function here is called from one place in the orchestrator, run loop, executor or
 * composition function. One trace per run: its context is stored on the run (`RunState.trace`), and
 * every span is created with that explicit parent, so Advance invocations in different Lambda
 * containers, waits of days and restarts of the local runtime all land in the same trace. The span
 * and metric names are shared/observability/{span-names,metric-names}.ts.
 */

import { noMetrics, noTelemetry } from '../adapters/no-telemetry.js';
import type { PolicyAiProvider, PricedAiResponse } from '../ai/policy.js';
import { type Awaitable, isPromise } from '../awaitable.js';
import { isFinal } from '../engine/transition.js';
import { EventType, type RunState, type Signal, type StepResult, type Transition } from '../engine/types.js';
import { Attr, SpanName } from '../observability/span-names.js';
import type { AiProvider, AiRequest, ChildRuns, Clock } from '../ports/services.js';
import type { InboxEntry } from '../ports/storage.js';
import type {
  Attributes,
  AttributeValue,
  Metrics,
  RunTrace,
  Span,
  SpanOptions,
  Telemetry,
  TraceContext,
} from '../ports/telemetry.js';
import type { ExecutorDeps } from './executor.js';

/** The observability ports a host composed (both optional: the no-ops cost nothing). */
export interface ObservabilityDeps {
  telemetry?: Telemetry;
  metrics?: Metrics;
}

export function telemetryOf(deps: ObservabilityDeps): Telemetry {
  return deps.telemetry ?? noTelemetry;
}

export function metricsOf(deps: ObservabilityDeps): Metrics {
  return deps.metrics ?? noMetrics;
}

/** Whether step attempts are observed at all (a span or a duration): without, `observeAttempt` is not needed. */
export function observesAttempts(deps: ObservabilityDeps): boolean {
  return telemetryOf(deps).enabled || metricsOf(deps).enabled;
}

/** The parent of every span of a run: its root span, whose ids were stored when it was created. */
export function runParent(state: RunState): TraceContext | undefined {
  return state.trace ? { trace_id: state.trace.trace_id, span_id: state.trace.span_id } : undefined;
}

/** A fresh object each time: callers add their own keys to it, and a span keeps it. */
function runAttributes(state: RunState): Attributes {
  return {
    'flowrunner.run.id': state.id,
    'flowrunner.workflow.id': state.workflow_id,
    'flowrunner.workflow.version': state.workflow_version,
  } satisfies KnownAttributes;
}

/**
 * A span of the run's trace (under its root) that links to the request or other trace that brought
 * this call, when there is one.
 */
function inRun(telemetry: Telemetry, state: RunState, options: SpanOptions): SpanOptions {
  const parent = runParent(state);
  if (parent) options.parent = parent;
  const active = telemetry.active();
  if (active && active.trace_id !== parent?.trace_id) options.links = [active];
  return options;
}

/**
 * The trace of a new run: a child run's root hangs under the step that started it (the active span),
 * any other run starts a trace of its own.
 */
export function newRunTrace(deps: ObservabilityDeps, child: boolean): RunTrace {
  const telemetry = telemetryOf(deps);
  return child ? telemetry.childTrace() : telemetry.newTrace();
}

/** `run.start`: a span in the new run's trace, linked to the request that started it; counts the run. */
export function recordRunStart(deps: ObservabilityDeps, state: RunState, startedAt: Date): void {
  metricsOf(deps).count('runs_started');
  const telemetry = telemetryOf(deps);
  if (!telemetry.enabled) return;
  const attributes = runAttributes(state);
  if (state.parent) attributes[Attr.parentRunId] = state.parent.run_id;
  telemetry.startSpan(SpanName.start, inRun(telemetry, state, { startTime: startedAt, attributes })).end();
}

/**
 * `trigger <type>` (kind consumer) around one listener delivery: the trigger Lambda and the local
 * trigger sources wrap the dispatch of each listener in it and start the run with the dependencies
 * it hands over, so the run's `run.start` links to it, as a run started over HTTP links to its request.
 */
export function traceTrigger<D extends ObservabilityDeps, T>(
  deps: D,
  listener: { id: string; type: string },
  dispatch: (traced: D) => Promise<T>,
): Promise<T> {
  const telemetry = telemetryOf(deps);
  if (!telemetry.enabled) return dispatch(deps);
  const span = telemetry.startSpan(`${SpanName.trigger} ${listener.type}`, {
    kind: 'consumer',
    attributes: { [Attr.listenerId]: listener.id, [Attr.listenerType]: listener.type },
  });
  return dispatch({ ...deps, telemetry: telemetry.under(span.context) }).then(
    (result) => {
      span.end();
      return result;
    },
    (error: unknown) => {
      span.fail(errorInfo(error));
      span.end();
      throw error;
    },
  );
}

/** `signal.deliver` (a resume, a callback, a cancel, a child's end): in the run's trace, linked to its request. */
export function recordSignalDelivery(
  deps: ObservabilityDeps,
  state: RunState,
  signal: Signal,
  startedAt: Date,
): void {
  const telemetry = telemetryOf(deps);
  if (!telemetry.enabled) return;
  const attributes = runAttributes(state);
  attributes[Attr.signalType] = signal.type;
  attributes[Attr.signalAccepted] = true;
  telemetry
    .startSpan(
      SpanName.deliverSignal,
      inRun(telemetry, state, { kind: 'producer', startTime: startedAt, attributes }),
    )
    .end();
}

/** `await_signal`: the execution parks on its task token. */
export function recordAwaitSignal(deps: ObservabilityDeps, state: RunState, startedAt: Date): void {
  const telemetry = telemetryOf(deps);
  if (!telemetry.enabled) return;
  const options: SpanOptions = { startTime: startedAt, attributes: runAttributes(state) };
  const parent = runParent(state);
  if (parent) options.parent = parent;
  telemetry.startSpan(SpanName.awaitSignal, options).end();
}

/**
 * Did this transition end the run? Told by its own events, not by `transition.state`: the results of
 * pure steps are committed together, and when the batch is told, every transition's state is the
 * state after the last one (the engine carries one state forward), so each of them looked like the
 * run's end and the root span went out once per step of the batch.
 */
function endedRun(transition: Transition): boolean {
  if (!isFinal(transition.state.status)) return false;
  return (
    hasEvent(transition, EventType.runCompleted) ||
    hasEvent(transition, EventType.runFailed) ||
    hasEvent(transition, EventType.runCanceled)
  );
}

function hasEvent(transition: Transition, type: EventType): boolean {
  for (const event of transition.events) if (event.type === type) return true;
  return false;
}

/** A wait under way when a signal came, to tell whether the signal ended it. */
interface OpenWait {
  id: string;
  visit: number;
  since: string | undefined;
  kind: string;
}

/**
 * One Advance, observed: its span (the parent of the step attempts run with `executor`'s deps), the waits
 * its signals end, the latency of inbox signals, a redrive, and the run's end (its root span and count).
 */
export class AdvanceObservation {
  readonly #deps: ObservabilityDeps & { clock: Clock };
  readonly #telemetry: Telemetry;
  readonly #metrics: Metrics;
  readonly #span: Span;
  /** When each inbox signal of this Advance was accepted; made by the first (most Advances have none). */
  #received: Map<Signal, string> | undefined;
  /** Set when the run ends in this Advance (`flowrunner.run.status` on the Advance span). */
  #endedWith: string | undefined;

  constructor(deps: ObservabilityDeps & { clock: Clock }, state: RunState, generation: number) {
    this.#deps = deps;
    this.#telemetry = telemetryOf(deps);
    this.#metrics = metricsOf(deps);
    if (!this.#telemetry.enabled) {
      this.#span = this.#telemetry.startSpan(SpanName.advance);
      return;
    }
    const attributes = runAttributes(state);
    attributes[Attr.generation] = generation;
    const parent = runParent(state);
    this.#span = this.#telemetry.startSpan(
      SpanName.advance,
      parent === undefined ? { attributes } : { parent, attributes },
    );
  }

  /** Remembers when an inbox signal was accepted, for its delivery latency. */
  received(entry: InboxEntry): void {
    this.#received ??= new Map();
    this.#received.set(entry.signal, entry.received_at);
  }

  /** The dependencies the run loop carries out work with: step attempts become the Advance span's children. */
  executor(deps: ExecutorDeps): ExecutorDeps {
    return this.#telemetry.enabled ? tracedDeps(deps, this.#telemetry, this.#span.context) : deps;
  }

  /**
   * Before a signal is applied (RunLoop's `observe`): notes the waits under way and the status, and
   * returns what to do once the transition is persisted: the signal's delivery latency, a span and an
   * answer time for each wait it ended, a redrive, and the run's end. Called for every transition, so
   * it allocates nothing unless there is something to report.
   */
  applying(before: RunState, signal: Signal): ((transition: Transition) => void) | undefined {
    if (!this.#telemetry.enabled && !this.#metrics.enabled) return undefined;
    const wasFinal = isFinal(before.status);
    let waits: OpenWait[] | undefined;
    for (const id of before.active) {
      const step = before.steps[id]!;
      // Retry backoffs are not waits.
      if (step.status === 'waiting' && step.wait && step.retry_at === undefined) {
        waits ??= [];
        waits.push({ id, visit: step.visit, since: step.started_at, kind: step.wait.kind });
      }
    }
    const receivedAt = this.#received?.get(signal);
    // Most transitions (a step's result in a run that goes on) have nothing to report here.
    if (receivedAt === undefined && waits === undefined && !wasFinal) return undefined;
    return (transition) => this.#applied(transition, signal, receivedAt, waits, wasFinal);
  }

  /**
   * Once per commit (RunLoop's `committed`): the run's end, if the commit ended it. Per commit, not
   * per signal: the signals of one commit (results of pure steps committed together) share it.
   */
  committed(transition: Transition): void {
    if (!this.#telemetry.enabled && !this.#metrics.enabled) return;
    if (endedRun(transition)) this.#runEnded(transition.state, this.#deps.clock.now());
  }

  #applied(
    transition: Transition,
    signal: Signal,
    receivedAt: string | undefined,
    waits: OpenWait[] | undefined,
    wasFinal: boolean,
  ): void {
    const after = transition.state;
    const now = this.#deps.clock.now();
    if (receivedAt !== undefined) {
      this.#metrics.observe(
        'signal_delivery_latency_ms',
        Math.max(0, now.getTime() - Date.parse(receivedAt)),
        {
          signal_type: signal.type,
        },
      );
    }
    if (waits !== undefined) {
      for (const wait of waits) {
        const later = after.steps[wait.id];
        if (later && later.status === 'waiting' && later.visit === wait.visit) continue;
        this.#waitEnded(after, wait, signal, now);
      }
    }
    if (wasFinal && hasEvent(transition, EventType.runRedriven)) this.#redriven(after, receivedAt, now);
  }

  #waitEnded(state: RunState, wait: OpenWait, signal: Signal, now: Date) {
    const since = wait.since ? new Date(wait.since) : now;
    const answered = signal.type === 'resume' || signal.type === 'callback';
    if (answered && (wait.kind === 'form' || wait.kind === 'approval')) {
      this.#metrics.observe('answer_time_s', Math.max(0, (now.getTime() - since.getTime()) / 1000), {
        wait_kind: wait.kind,
      });
    }
    if (!this.#telemetry.enabled) return;
    const attributes = runAttributes(state);
    attributes[Attr.stepId] = wait.id;
    attributes[Attr.visit] = wait.visit;
    attributes[Attr.waitKind] = wait.kind;
    attributes[Attr.signalType] = signal.type;
    this.#telemetry
      .startSpan(`${SpanName.wait} ${wait.kind}`, {
        parent: this.#span.context,
        startTime: since,
        attributes,
      })
      .end(now);
  }

  /**
   * `run.redrive`: a failed run goes on. The root span was emitted when the run first ended and keeps
   * that ending; the redrive is a span of its own under it, from the request that asked for it to
   * the Advance that applied it, and the Advance that ends the run again says how it ended.
   */
  #redriven(state: RunState, receivedAt: string | undefined, now: Date): void {
    if (!this.#telemetry.enabled) return;
    const attributes = runAttributes(state);
    attributes[Attr.redrive] = state.redrives ?? 1;
    const parent = runParent(state);
    const startTime = receivedAt === undefined ? now : new Date(receivedAt);
    this.#telemetry
      .startSpan(
        SpanName.redrive,
        parent === undefined ? { startTime, attributes } : { parent, startTime, attributes },
      )
      .end(now);
  }

  #runEnded(state: RunState, now: Date): void {
    this.#metrics.count('runs_ended', { status: state.status });
    if (!this.#telemetry.enabled) return;
    this.#endedWith = state.status;
    // The root span is emitted once, when the run first ends: a redriven run that ends again would
    // otherwise send a second span with the same id, which a backend keeps one of, or shows twice.
    if (!state.trace || (state.redrives ?? 0) > 0) return;
    const { trace_id, span_id, parent_span_id } = state.trace;
    const attributes = runAttributes(state);
    attributes[Attr.runStatus] = state.status;
    // Its true start: the root's ids were stored when the run was created.
    const options: SpanOptions = {
      self: { trace_id, span_id },
      startTime: new Date(state.created_at),
      attributes,
    };
    if (parent_span_id) options.parent = { trace_id, span_id: parent_span_id };
    const root = this.#telemetry.startSpan(`${SpanName.run} ${state.workflow_id}`, options);
    if (state.status === 'failed' && state.error) root.fail(state.error);
    root.end(state.ended_at ? new Date(state.ended_at) : now);
  }

  /** The Advance span's end, with what it told the state machine (and how the run ended, if it did). */
  end(result: { directive: string; checkpoint: number } | { error: unknown }): void {
    if ('error' in result) {
      this.#span.fail(errorInfo(result.error));
    } else {
      const attributes: Attributes = {
        [Attr.directive]: result.directive,
        [Attr.checkpoint]: result.checkpoint,
      };
      if (this.#endedWith !== undefined) attributes[Attr.runStatus] = this.#endedWith;
      this.#span.setAttributes(attributes);
    }
    this.#span.end();
  }
}

/** A step attempt (or compensation action) as observed: what names it, and how it runs. */
export interface ObservableAttempt {
  readonly stepId: string;
  readonly type: string;
  readonly visit: number;
  readonly attempt: number;
  readonly compensation: boolean;
  /** Runs the attempt with these dependencies (the span's, for a step that calls services). */
  run(deps: ExecutorDeps): Awaitable<StepResult>;
}

/**
 * One step attempt (or compensation action) as a span, a child of the active Advance span and the
 * parent of what the step does (its AI calls, the child run it starts); its duration by type. A
 * synchronous attempt is observed without a closure.
 */
export function observeAttempt(deps: ExecutorDeps, attempt: ObservableAttempt): Awaitable<StepResult> {
  if (!observesAttempts(deps)) return attempt.run(deps);
  const telemetry = telemetryOf(deps);
  const metrics = metricsOf(deps);
  const started = metrics.enabled ? performance.now() : 0;
  // The attributes come at the end, in one object: a span is only read once it has ended.
  const span = telemetry.startSpan(attemptSpanName(attempt));
  let running: Awaitable<StepResult>;
  try {
    // A pure step (a transform, a condition) calls no service that could hang a span under it.
    const traced = telemetry.enabled && deps.registry.get(attempt.type)?.pure !== true;
    running = attempt.run(traced ? tracedDeps(deps, telemetry, span.context) : deps);
  } catch (error) {
    failedAttempt(span, attempt, error);
    throw error;
  }
  if (!isPromise(running)) return attemptEnded(running, attempt, span, telemetry, metrics, started);
  return running.then(
    (result) => attemptEnded(result, attempt, span, telemetry, metrics, started),
    (error: unknown) => {
      failedAttempt(span, attempt, error);
      throw error;
    },
  );
}

function attemptEnded(
  result: StepResult,
  attempt: ObservableAttempt,
  span: Span,
  telemetry: Telemetry,
  metrics: Metrics,
  started: number,
): StepResult {
  if (metrics.enabled) {
    metrics.observe('step_duration_ms', performance.now() - started, {
      step_type: attempt.type,
      result: result.status,
    });
  }
  if (!telemetry.enabled) return result;
  span.setAttributes(attemptAttributes(attempt, result));
  if (result.status === 'failed') span.fail(result.error);
  span.end();
  return result;
}

/** The attempt's span when its run threw (a defect of the host: attempts turn failures into results). */
function failedAttempt(span: Span, attempt: Parameters<typeof attemptAttributes>[0], error: unknown): void {
  span.setAttributes(attemptAttributes(attempt, undefined));
  span.fail(errorInfo(error));
  span.end();
}

/** `step <type>` and `step.compensate <type>`, made once per type (a new string per attempt is memory the step pays for). */
const attemptSpanNames = { step: new Map<string, string>(), compensate: new Map<string, string>() };

function attemptSpanName(attempt: { type: string; compensation: boolean }): string {
  const names = attempt.compensation ? attemptSpanNames.compensate : attemptSpanNames.step;
  let name = names.get(attempt.type);
  if (name === undefined) {
    name = `${attempt.compensation ? SpanName.compensate : SpanName.step} ${attempt.type}`;
    names.set(attempt.type, name);
  }
  return name;
}

/** Attribute names as the span-names module spells them (a literal key outside it does not compile). */
type KnownAttributes = Partial<Record<(typeof Attr)[keyof typeof Attr], AttributeValue>>;

/**
 * A step attempt's attributes, in one object literal per result (literal keys: V8 builds it from a
 * template, where computed keys and later additions cost several times more on the engine's path).
 */
function attemptAttributes(
  attempt: { stepId: string; type: string; visit: number; attempt: number },
  result: StepResult | undefined,
): Attributes {
  switch (result?.status) {
    case 'completed':
      return {
        'flowrunner.step.id': attempt.stepId,
        'flowrunner.step.type': attempt.type,
        'flowrunner.step.visit': attempt.visit,
        'flowrunner.step.attempt': attempt.attempt,
        'flowrunner.step.result': 'completed',
        'flowrunner.step.outcome': result.outcome,
      } satisfies KnownAttributes;
    case 'waiting':
      return {
        'flowrunner.step.id': attempt.stepId,
        'flowrunner.step.type': attempt.type,
        'flowrunner.step.visit': attempt.visit,
        'flowrunner.step.attempt': attempt.attempt,
        'flowrunner.step.result': 'waiting',
        'flowrunner.wait.kind': result.wait.kind,
      } satisfies KnownAttributes;
    case 'failed':
      return {
        'flowrunner.step.id': attempt.stepId,
        'flowrunner.step.type': attempt.type,
        'flowrunner.step.visit': attempt.visit,
        'flowrunner.step.attempt': attempt.attempt,
        'flowrunner.step.result': 'failed',
      } satisfies KnownAttributes;
    case undefined:
      return {
        'flowrunner.step.id': attempt.stepId,
        'flowrunner.step.type': attempt.type,
        'flowrunner.step.visit': attempt.visit,
        'flowrunner.step.attempt': attempt.attempt,
      } satisfies KnownAttributes;
  }
}

/** A thrown error as a span's failure (its code, else its class name). */
function errorInfo(error: unknown): { code: string; message: string } {
  const failure = error as { code?: string; name?: string; message?: string };
  return { code: failure.code ?? failure.name ?? 'Error', message: failure.message ?? String(error) };
}

/** A service that can be handed the span its calls hang under (`Telemetry.under`). */
interface Traceable<T> {
  under(telemetry: Telemetry): T;
}

function traceable<T>(service: T): service is T & Traceable<T> {
  return typeof (service as Partial<Traceable<T>>).under === 'function';
}

/** Every key of T, optional ones too: a class that implements it must name each one. */
type EveryKey<T> = { [K in keyof Required<T>]: T[K] };

/** The executor's dependencies with `span` active (a step attempt's, or an Advance's). */
function tracedDeps(base: ExecutorDeps, telemetry: Telemetry, span: TraceContext): ExecutorDeps {
  return new TracedDeps(base, telemetry, span);
}

/**
 * The executor's dependencies with `telemetry` active for the steps' AI calls and the child runs they
 * start. One small object per attempt, of one class, whichever deps it is made from (a spread of the
 * orchestrator's dependencies costs 5 µs on this project's machine; an object inheriting from them
 * made the engine's property reads megamorphic). It names every key of ExecutorDeps (`EveryKey`), so
 * a dependency added to the steps cannot be left out of it, as `notifier` once was: forms and
 * approvals notified nobody while tracing was on. The AI provider and child runs are rebound to the
 * span, and the telemetry made for it, only when a step reaches for them.
 */
class TracedDeps implements EveryKey<ExecutorDeps> {
  readonly http: ExecutorDeps['http'];
  readonly templates: ExecutorDeps['templates'];
  readonly clock: ExecutorDeps['clock'];
  readonly ids: ExecutorDeps['ids'];
  readonly allowPrivateNetwork: boolean;
  readonly allowLoopback: boolean;
  readonly notifier: ExecutorDeps['notifier'];
  readonly registry: ExecutorDeps['registry'];
  readonly secrets: ExecutorDeps['secrets'];
  readonly redactor: ExecutorDeps['redactor'];
  readonly expressionTimeoutMs: ExecutorDeps['expressionTimeoutMs'];
  readonly metrics: ExecutorDeps['metrics'];
  readonly #parent: Telemetry;
  readonly #span: TraceContext;
  #telemetry: Telemetry | undefined;
  /** The services as composed, never a binding to another span (an Advance's, for a step's deps). */
  readonly #ai: AiProvider;
  readonly #children: ChildRuns;
  #tracedAi: AiProvider | undefined;
  #tracedChildren: ChildRuns | undefined;

  constructor(base: ExecutorDeps, telemetry: Telemetry, span: TraceContext) {
    this.#parent = telemetry;
    this.#span = span;
    this.http = base.http;
    this.templates = base.templates;
    this.clock = base.clock;
    this.ids = base.ids;
    this.allowPrivateNetwork = base.allowPrivateNetwork;
    this.allowLoopback = base.allowLoopback;
    this.notifier = base.notifier;
    this.registry = base.registry;
    this.secrets = base.secrets;
    this.redactor = base.redactor;
    this.expressionTimeoutMs = base.expressionTimeoutMs;
    this.metrics = base.metrics;
    this.#ai = base instanceof TracedDeps ? base.#ai : base.ai;
    this.#children = base instanceof TracedDeps ? base.#children : base.children;
  }

  /** Made when first asked for: most steps never reach for it. */
  get telemetry(): Telemetry {
    this.#telemetry ??= this.#parent.under(this.#span);
    return this.#telemetry;
  }

  get ai(): AiProvider {
    const ai = this.#ai;
    this.#tracedAi ??= traceable(ai) ? ai.under(this.telemetry) : ai;
    return this.#tracedAi;
  }

  get children(): ChildRuns {
    const children = this.#children;
    this.#tracedChildren ??= traceable(children) ? children.under(this.telemetry) : children;
    return this.#tracedChildren;
  }
}

/**
 * Every AI call as a `chat {model}` span with the gen_ai semantic-convention attributes, and its
 * tokens and cost as metrics. Prompts and answers never go into spans.
 */
export function observeAi(
  provider: PolicyAiProvider,
  deps: ObservabilityDeps,
): PolicyAiProvider & Partial<Traceable<PolicyAiProvider>> {
  const telemetry = telemetryOf(deps);
  const metrics = metricsOf(deps);
  if (!telemetry.enabled && !metrics.enabled) return provider;
  return new ObservedAi(provider, telemetry, metrics);
}

/** The provider, observed; `under` (one small object per step) hangs its calls' spans under a step's. */
class ObservedAi implements PolicyAiProvider, Traceable<PolicyAiProvider> {
  readonly name: string;
  readonly captureContent: boolean;
  readonly #provider: PolicyAiProvider;
  readonly #telemetry: Telemetry;
  readonly #metrics: Metrics;

  constructor(provider: PolicyAiProvider, telemetry: Telemetry, metrics: Metrics) {
    this.name = provider.name;
    this.captureContent = provider.captureContent;
    this.#provider = provider;
    this.#telemetry = telemetry;
    this.#metrics = metrics;
  }

  under(telemetry: Telemetry): PolicyAiProvider {
    return new ObservedAi(this.#provider, telemetry, this.#metrics);
  }

  async generate(request: AiRequest): Promise<PricedAiResponse> {
    const provider = this.#provider;
    const metrics = this.#metrics;
    const span = this.#telemetry.startSpan(`${SpanName.aiChat} ${request.model ?? provider.name}`, {
      kind: 'client',
      attributes: {
        [Attr.genAiSystem]: provider.name,
        [Attr.genAiOperation]: 'chat',
        ...(request.model ? { [Attr.genAiRequestModel]: request.model } : {}),
        ...(request.step_id ? { [Attr.stepId]: request.step_id } : {}),
      },
    });
    try {
      const response = await provider.generate(request);
      span.setAttributes({
        ...(request.model ? {} : { [Attr.genAiRequestModel]: response.model }),
        [Attr.genAiResponseModel]: response.model,
        [Attr.genAiInputTokens]: response.tokens_prompt,
        [Attr.genAiOutputTokens]: response.tokens_output,
        ...(response.cost_usd === null ? {} : { 'flowrunner.ai.cost_usd': response.cost_usd }),
      });
      metrics.count('ai_tokens_input', { model: response.model }, response.tokens_prompt);
      metrics.count('ai_tokens_output', { model: response.model }, response.tokens_output);
      if (response.cost_usd !== null)
        metrics.count('ai_cost_usd', { model: response.model }, response.cost_usd);
      return response;
    } catch (error) {
      span.fail(errorInfo(error));
      throw error;
    } finally {
      span.end();
    }
  }
}
