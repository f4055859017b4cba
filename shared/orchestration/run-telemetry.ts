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
import { type Awaitable, andThen } from '../awaitable.js';
import { isFinal } from '../engine/transition.js';
import type { RunState, Signal, StepResult, Transition } from '../engine/types.js';
import { Attr, SpanName } from '../observability/span-names.js';
import type { AiProvider, AiRequest, ChildRuns, Clock } from '../ports/services.js';
import type { InboxEntry } from '../ports/storage.js';
import type { Metrics, RunTrace, Span, Telemetry, TraceContext } from '../ports/telemetry.js';
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

/** The parent of every span of a run: its root span, whose ids were stored when it was created. */
export function runParent(state: RunState): TraceContext | undefined {
  return state.trace ? { trace_id: state.trace.trace_id, span_id: state.trace.span_id } : undefined;
}

function runAttributes(state: RunState) {
  return {
    [Attr.runId]: state.id,
    [Attr.workflowId]: state.workflow_id,
    [Attr.workflowVersion]: state.workflow_version,
  };
}

/** The request (or other trace) that brought this call, when it is not the run's own trace: a span link. */
function linkFrom(telemetry: Telemetry, trace: TraceContext | undefined): TraceContext[] {
  const active = telemetry.active();
  return active && active.trace_id !== trace?.trace_id ? [active] : [];
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
  const parent = runParent(state);
  telemetry
    .startSpan(SpanName.start, {
      ...(parent ? { parent } : {}),
      links: linkFrom(telemetry, parent),
      startTime: startedAt,
      attributes: {
        ...runAttributes(state),
        ...(state.parent ? { [Attr.parentRunId]: state.parent.run_id } : {}),
      },
    })
    .end();
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
      const failure = error as { code?: string; name?: string; message?: string };
      span.fail({ code: failure.code ?? failure.name ?? 'Error', message: failure.message ?? String(error) });
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
  const parent = runParent(state);
  telemetry
    .startSpan(SpanName.deliverSignal, {
      ...(parent ? { parent } : {}),
      kind: 'producer',
      links: linkFrom(telemetry, parent),
      startTime: startedAt,
      attributes: { ...runAttributes(state), [Attr.signalType]: signal.type, [Attr.signalAccepted]: true },
    })
    .end();
}

/** `await_signal`: the execution parks on its task token. */
export function recordAwaitSignal(deps: ObservabilityDeps, state: RunState, startedAt: Date): void {
  const telemetry = telemetryOf(deps);
  if (!telemetry.enabled) return;
  const parent = runParent(state);
  telemetry
    .startSpan(SpanName.awaitSignal, {
      ...(parent ? { parent } : {}),
      startTime: startedAt,
      attributes: runAttributes(state),
    })
    .end();
}

/**
 * One Advance, observed: its span (the parent of the step attempts run with `executor`'s deps), the waits
 * its signals end, the latency of inbox signals, and the run's end (its root span and count).
 */
export class AdvanceObservation {
  readonly #deps: ObservabilityDeps & { clock: Clock };
  readonly #telemetry: Telemetry;
  readonly #span: Span;
  readonly #received = new Map<Signal, string>();

  constructor(deps: ObservabilityDeps & { clock: Clock }, state: RunState, generation: number) {
    this.#deps = deps;
    this.#telemetry = telemetryOf(deps);
    const parent = runParent(state);
    this.#span = this.#telemetry.startSpan(SpanName.advance, {
      ...(parent ? { parent } : {}),
      attributes: { ...runAttributes(state), [Attr.generation]: generation },
    });
  }

  /** Remembers when an inbox signal was accepted, for its delivery latency. */
  received(entry: InboxEntry): void {
    this.#received.set(entry.signal, entry.received_at);
  }

  /** The dependencies the run loop carries out work with: step attempts become the Advance span's children. */
  executor<D extends ObservabilityDeps>(deps: D): D {
    return this.#telemetry.enabled ? { ...deps, telemetry: this.#telemetry.under(this.#span.context) } : deps;
  }

  /**
   * Before a signal is applied (RunLoop's `observe`): notes the waits under way and the status, and
   * returns what to do once the transition is persisted: the signal's delivery latency, a span and an
   * answer time for each wait it ended, and the run's end.
   */
  applying(before: RunState, signal: Signal): ((transition: Transition) => void) | undefined {
    const metrics = metricsOf(this.#deps);
    if (!this.#telemetry.enabled && !metrics.enabled) return undefined;
    const wasFinal = isFinal(before.status);
    const waits: Array<{ id: string; visit: number; since?: string; kind: string }> = [];
    for (const id of before.active) {
      const step = before.steps[id]!;
      // Retry backoffs are not waits.
      if (step.status === 'waiting' && step.wait && step.retry_at === undefined) {
        waits.push({
          id,
          visit: step.visit,
          kind: step.wait.kind,
          ...(step.started_at ? { since: step.started_at } : {}),
        });
      }
    }
    return (transition) => {
      const receivedAt = this.#received.get(signal);
      const after = transition.state;
      const ended = isFinal(after.status) && !wasFinal;
      // Most transitions (a step's result in a run that goes on) have nothing to report.
      if (receivedAt === undefined && waits.length === 0 && !ended) return;
      const now = this.#deps.clock.now();
      if (receivedAt !== undefined) {
        metrics.observe('signal_delivery_latency_ms', Math.max(0, now.getTime() - Date.parse(receivedAt)), {
          signal_type: signal.type,
        });
      }
      for (const wait of waits) {
        const later = after.steps[wait.id];
        if (later && later.status === 'waiting' && later.visit === wait.visit) continue;
        this.#waitEnded(after, wait, signal, now);
      }
      if (ended) this.#runEnded(after, now);
    };
  }

  #waitEnded(
    state: RunState,
    wait: { id: string; visit: number; since?: string; kind: string },
    signal: Signal,
    now: Date,
  ) {
    const since = wait.since ? new Date(wait.since) : now;
    const answered = signal.type === 'resume' || signal.type === 'callback';
    if (answered && (wait.kind === 'form' || wait.kind === 'approval')) {
      metricsOf(this.#deps).observe('answer_time_s', Math.max(0, (now.getTime() - since.getTime()) / 1000), {
        wait_kind: wait.kind,
      });
    }
    if (!this.#telemetry.enabled) return;
    this.#telemetry
      .startSpan(`${SpanName.wait} ${wait.kind}`, {
        parent: this.#span.context,
        startTime: since,
        attributes: {
          ...runAttributes(state),
          [Attr.stepId]: wait.id,
          [Attr.visit]: wait.visit,
          [Attr.waitKind]: wait.kind,
          [Attr.signalType]: signal.type,
        },
      })
      .end(now);
  }

  #runEnded(state: RunState, now: Date): void {
    metricsOf(this.#deps).count('runs_ended', { status: state.status });
    if (!this.#telemetry.enabled || !state.trace) return;
    // The root span, emitted once, now that the run is over: the ids stored at its start, its true start time.
    const { trace_id, span_id, parent_span_id } = state.trace;
    const root = this.#telemetry.startSpan(`${SpanName.run} ${state.workflow_id}`, {
      self: { trace_id, span_id },
      ...(parent_span_id ? { parent: { trace_id, span_id: parent_span_id } } : {}),
      startTime: new Date(state.created_at),
      attributes: { ...runAttributes(state), [Attr.runStatus]: state.status },
    });
    if (state.status === 'failed' && state.error) root.fail(state.error);
    root.end(state.ended_at ? new Date(state.ended_at) : now);
  }

  /** The Advance span's end, with what it told the state machine. */
  end(result: { directive: string; checkpoint: number } | { error: unknown }): void {
    if ('error' in result) {
      const error = result.error as { name?: string; message?: string; code?: string };
      this.#span.fail({ code: error.code ?? error.name ?? 'Error', message: error.message ?? String(error) });
    } else {
      this.#span.setAttributes({ [Attr.directive]: result.directive, [Attr.checkpoint]: result.checkpoint });
    }
    this.#span.end();
  }
}

/**
 * One step attempt (or compensation action) as a span, a child of the active Advance span and the
 * parent of what the step does (its AI calls, the child run it starts); its duration by type.
 */
export function observeAttempt(
  deps: ExecutorDeps,
  attempt: { stepId: string; type: string; visit: number; attempt: number; compensation: boolean },
  run: (deps: ExecutorDeps) => Awaitable<StepResult>,
): Awaitable<StepResult> {
  const telemetry = telemetryOf(deps);
  const metrics = metricsOf(deps);
  if (!telemetry.enabled && !metrics.enabled) return run(deps);
  const started = performance.now();
  const span = telemetry.startSpan(
    `${attempt.compensation ? SpanName.compensate : SpanName.step} ${attempt.type}`,
    {
      attributes: {
        [Attr.stepId]: attempt.stepId,
        [Attr.stepType]: attempt.type,
        [Attr.visit]: attempt.visit,
        [Attr.attempt]: attempt.attempt,
      },
    },
  );
  const ended = (result: StepResult): StepResult => {
    metrics.observe('step_duration_ms', performance.now() - started, {
      step_type: attempt.type,
      result: result.status,
    });
    span.setAttributes({
      [Attr.stepResult]: result.status,
      ...(result.status === 'completed' ? { [Attr.outcome]: result.outcome } : {}),
      ...(result.status === 'waiting' ? { [Attr.waitKind]: result.wait.kind } : {}),
    });
    if (result.status === 'failed') span.fail(result.error);
    span.end();
    return result;
  };
  return andThen(
    run(telemetry.enabled ? new TracedStepDeps(deps, telemetry.under(span.context)) : deps),
    ended,
  );
}

/** A service that can be handed the span its calls hang under (`Telemetry.under`). */
interface Traceable<T> {
  under(telemetry: Telemetry): T;
}

function traceable<T>(service: T): service is T & Traceable<T> {
  return typeof (service as Partial<Traceable<T>>).under === 'function';
}

/**
 * The step's dependencies with `telemetry` active for its AI calls and the child runs it starts. One
 * small object per attempt, of one class (a spread of the orchestrator's dependencies cost 1.5 µs per
 * step, an object inheriting from them made the engine's property reads megamorphic); the AI provider
 * and child runs are rebound to the step's span only when the step reaches for them.
 */
class TracedStepDeps implements ExecutorDeps {
  readonly http: ExecutorDeps['http'];
  readonly templates: ExecutorDeps['templates'];
  readonly clock: ExecutorDeps['clock'];
  readonly ids: ExecutorDeps['ids'];
  readonly allowPrivateNetwork: boolean;
  readonly allowLoopback: boolean;
  readonly registry: ExecutorDeps['registry'];
  readonly secrets: ExecutorDeps['secrets'];
  readonly redactor: ExecutorDeps['redactor'];
  readonly expressionTimeoutMs: ExecutorDeps['expressionTimeoutMs'];
  readonly metrics: ExecutorDeps['metrics'];
  readonly telemetry: Telemetry;
  readonly #base: ExecutorDeps;
  #ai: AiProvider | undefined;
  #children: ChildRuns | undefined;

  constructor(base: ExecutorDeps, telemetry: Telemetry) {
    this.#base = base;
    this.telemetry = telemetry;
    this.http = base.http;
    this.templates = base.templates;
    this.clock = base.clock;
    this.ids = base.ids;
    this.allowPrivateNetwork = base.allowPrivateNetwork;
    this.allowLoopback = base.allowLoopback;
    this.registry = base.registry;
    this.secrets = base.secrets;
    this.redactor = base.redactor;
    this.expressionTimeoutMs = base.expressionTimeoutMs;
    this.metrics = base.metrics;
  }

  get ai(): AiProvider {
    const ai = this.#base.ai;
    this.#ai ??= traceable(ai) ? ai.under(this.telemetry) : ai;
    return this.#ai;
  }

  get children(): ChildRuns {
    const children = this.#base.children;
    this.#children ??= traceable(children) ? children.under(this.telemetry) : children;
    return this.#children;
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
      const failure = error as { code?: string; name?: string; message?: string };
      span.fail({ code: failure.code ?? failure.name ?? 'Error', message: failure.message ?? String(error) });
      throw error;
    } finally {
      span.end();
    }
  }
}
