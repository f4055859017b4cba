/**
 * Traces and metrics (CONTRACT §10), as the core needs them: spans with an explicit parent (a run's
 * stored trace context), links to the request that brought a signal, a span with a given id (the
 * run's root, emitted when the run ends), and counters and distributions by name. The adapters are
 * OpenTelemetry (shared/adapters/otel.ts), Powertools Metrics and Prometheus text
 * (shared/adapters/metrics.ts), and no-ops that cost nothing when observability is off.
 */
import type { MetricName } from '../observability/metric-names.js';

/** A span's place in a trace (W3C ids: 32 and 16 lower-case hex digits). */
export interface TraceContext {
  trace_id: string;
  span_id: string;
}

/** What a run stores of its trace: its root span, and the span it hangs under (a child run's parent step). */
export interface RunTrace extends TraceContext {
  parent_span_id?: string;
}

export type AttributeValue = string | number | boolean | string[];
/**
 * A span's attributes. No value is undefined (the OTLP exporters would send it as an empty value).
 * A span keeps the object it is given rather than a copy: give it a fresh one, and leave it alone.
 */
export type Attributes = Record<string, AttributeValue>;

export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface SpanOptions {
  /** The parent; default the active span (`withSpan`), else a new trace. */
  parent?: TraceContext;
  /** Spans of other traces this one follows from (a resume links to its HTTP request). */
  links?: TraceContext[];
  attributes?: Attributes;
  /** Default now. */
  startTime?: Date;
  kind?: SpanKind;
  /**
   * The span's own context, when it was decided before (a run's root span, whose ids are stored
   * when the run is created and which is emitted when it ends).
   */
  self?: TraceContext;
}

export interface Span {
  readonly context: TraceContext;
  /** Adds attributes (the span keeps the object; it never changes it). Nothing changes once it ended. */
  setAttributes(attributes: Attributes): void;
  /** Marks the span failed with the error's code and message. */
  fail(error: { code: string; message: string }): void;
  end(endTime?: Date): void;
}

export interface Telemetry {
  /** False for the no-op adapter: callers may skip work that only feeds spans. */
  readonly enabled: boolean;
  /** A fresh trace id and root span id for a new run. */
  newTrace(): TraceContext;
  /** A fresh span id in the active trace (a child run's root), or a new trace when none is active. */
  childTrace(): RunTrace;
  startSpan(name: string, options?: SpanOptions): Span;
  /**
   * The same telemetry with `parent` active: spans started through it without a parent become its
   * children. This is how the engine hands a span down (Advance → step attempt → AI call, child run):
   * explicitly, with the dependencies, at no cost to anything else.
   */
  under(parent: TraceContext): Telemetry;
  /**
   * Runs `fn` with `span` active for everything it calls, through AsyncLocalStorage. On Node 20 an
   * AsyncLocalStorage in use slows every promise of the process 2–3×, so only the API uses it, to
   * let a start or a signal link to the request that caused it; the engine uses `under`.
   */
  withSpan<T>(span: Span, fn: () => T): T;
  /** The active span's context (`under`, else `withSpan`), if any. */
  active(): TraceContext | undefined;
  /** Exports what is buffered (Lambda: before the invocation returns). */
  flush(): Promise<void>;
}

/** Dimensions of a metric point: few values each (a status, a step type), never an id. */
export type Dimensions = Record<string, string>;

export interface Metrics {
  readonly enabled: boolean;
  /** Adds `value` (default 1) to a counter. */
  count(name: MetricName, dimensions?: Dimensions, value?: number): void;
  /** Records one observation of a distribution (a duration, a latency). */
  observe(name: MetricName, value: number, dimensions?: Dimensions): void;
  /** Publishes what is buffered (Lambda: one EMF line per dimension set before the invocation returns). */
  flush(): Promise<void>;
}
