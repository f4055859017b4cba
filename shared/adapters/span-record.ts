/**
 * One span as the engine records it and as OpenTelemetry's processors and OTLP exporters read it
 * (`ReadableSpan`). Recording is what a step attempt pays for, so it keeps only what was given: the
 * name, the ids, the parent's context, two numbers for the times (one clock read each) and the
 * caller's attribute object, by reference. What the exporters read on top of that — the parent's
 * SpanContext, the [seconds, nanoseconds] times, the links — is made when it is read, which is when
 * a batch is exported, off the engine's path.
 */
import { performance } from 'node:perf_hooks';
import {
  type HrTime,
  type Link,
  type Attributes as OtelAttributes,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
  TraceFlags,
} from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace-base';
import { redactText } from '../observability/redact.js';
import type {
  Attributes,
  SpanKind as PortSpanKind,
  Span,
  SpanOptions,
  TraceContext,
} from '../ports/telemetry.js';
import { processSecrets } from './logger.js';

const KINDS: Record<PortSpanKind, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/** Error messages are free text: kept short, as a span is no place for a payload. */
const MAX_MESSAGE = 1_000;

const TIME_ORIGIN = performance.timeOrigin;
const UNSET: SpanStatus = Object.freeze({ code: SpanStatusCode.UNSET });
const NO_EVENTS: TimedEvent[] = Object.freeze([]) as unknown as TimedEvent[];
/** Frozen: a span without attributes shares it, and a first `setAttributes` replaces it. */
const NO_ATTRIBUTES: OtelAttributes = Object.freeze({});
const NO_LINKS: Link[] = Object.freeze([]) as unknown as Link[];

/** Now, in epoch milliseconds with the monotonic clock's sub-millisecond part (the SDK's own way). */
function epochNow(): number {
  return TIME_ORIGIN + performance.now();
}

/** Epoch milliseconds as OpenTelemetry's [seconds, nanoseconds]. */
export function hrTime(epochMs: number): HrTime {
  let seconds = Math.floor(epochMs / 1000);
  let nanos = Math.round((epochMs - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  return [seconds, nanos];
}

function remote(context: TraceContext): SpanContext {
  return {
    traceId: context.trace_id,
    spanId: context.span_id,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  };
}

/** What every span of one telemetry shares: where ended spans go, and the resource and scope they name. */
export interface SpanSink {
  readonly processor: SpanProcessor;
  readonly resource: Resource;
  readonly scope: InstrumentationScope;
}

/**
 * A span: its own context (`span.context` is the record, whose `trace_id` and `span_id` are the ids)
 * and its own SDK SpanContext (`spanContext()` is the record too), so that recording one allocates
 * the record and nothing else that the caller did not already make.
 */
export class SpanRecord implements Span, TraceContext, ReadableSpan, SpanContext {
  readonly name: string;
  readonly trace_id: string;
  readonly span_id: string;
  ended = false;
  readonly #parent: TraceContext | undefined;
  readonly #kind: SpanKind;
  readonly #start: number;
  #end = 0;
  /** The caller's object until a second one comes (then a merged copy of ours): no copy per span. */
  #attributes: OtelAttributes;
  #ownsAttributes = false;
  #status: SpanStatus = UNSET;
  readonly #links: TraceContext[] | undefined;
  readonly #sink: SpanSink;
  #parentSpanContext: SpanContext | undefined = undefined;

  constructor(
    name: string,
    traceId: string,
    spanId: string,
    parent: TraceContext | undefined,
    options: SpanOptions | undefined,
    sink: SpanSink,
  ) {
    this.name = name;
    this.trace_id = traceId;
    this.span_id = spanId;
    this.#parent = parent;
    this.#sink = sink;
    if (options === undefined) {
      this.#kind = SpanKind.INTERNAL;
      this.#start = epochNow();
      this.#attributes = NO_ATTRIBUTES;
      this.#links = undefined;
      return;
    }
    this.#kind = options.kind === undefined ? SpanKind.INTERNAL : KINDS[options.kind];
    this.#start = options.startTime === undefined ? epochNow() : options.startTime.getTime();
    this.#attributes = options.attributes ?? NO_ATTRIBUTES;
    this.#links = options.links !== undefined && options.links.length > 0 ? options.links : undefined;
  }

  get context(): TraceContext {
    return this;
  }

  setAttributes(attributes: Attributes): void {
    if (this.ended) return;
    const current = this.#attributes;
    if (current === NO_ATTRIBUTES) {
      this.#attributes = attributes;
      return;
    }
    let merged = current;
    if (!this.#ownsAttributes) {
      // A copy of the caller's object (a spread of it costs several times this loop).
      merged = {};
      for (const key in current) merged[key] = current[key];
    }
    for (const key in attributes) merged[key] = attributes[key];
    this.#attributes = merged;
    this.#ownsAttributes = true;
  }

  fail(error: { code: string; message: string }): void {
    if (this.ended) return;
    // The one free text a span carries: the log lines' redaction applies to it.
    this.setAttributes({ 'error.type': redactText(error.code, processSecrets) });
    this.#status = {
      code: SpanStatusCode.ERROR,
      message: redactText(error.message.slice(0, MAX_MESSAGE), processSecrets),
    };
  }

  end(endTime?: Date): void {
    if (this.ended) return;
    this.ended = true;
    this.#end = endTime === undefined ? epochNow() : endTime.getTime();
    this.#sink.processor.onEnd(this);
  }

  // ── SpanContext ────────────────────────────────────────────────────────────────────────────

  get traceId(): string {
    return this.trace_id;
  }

  get spanId(): string {
    return this.span_id;
  }

  /** Every span is sampled: a run's trace is whole or absent. */
  get traceFlags(): number {
    return TraceFlags.SAMPLED;
  }

  // ── ReadableSpan: made when read (a batch being exported) ──────────────────────────────────

  get kind(): SpanKind {
    return this.#kind;
  }

  spanContext(): SpanContext {
    return this;
  }

  /**
   * A parent recorded in this process (an Advance span, a step's) is its own SpanContext; any other
   * may live in another process (a run's root, a request): marked remote, as it may be.
   */
  get parentSpanContext(): SpanContext | undefined {
    const parent = this.#parent;
    if (parent === undefined) return undefined;
    if (parent instanceof SpanRecord) return parent;
    this.#parentSpanContext ??= remote(parent);
    return this.#parentSpanContext;
  }

  get startTime(): HrTime {
    return hrTime(this.#start);
  }

  get endTime(): HrTime {
    return this.ended ? hrTime(this.#end) : [0, 0];
  }

  get duration(): HrTime {
    const nanos = Math.max(0, Math.round((this.#end - this.#start) * 1e6));
    return [Math.floor(nanos / 1e9), nanos % 1e9];
  }

  get status(): SpanStatus {
    return this.#status;
  }

  get attributes(): OtelAttributes {
    return this.#attributes;
  }

  get links(): Link[] {
    return this.#links === undefined ? NO_LINKS : this.#links.map((link) => ({ context: remote(link) }));
  }

  get events(): TimedEvent[] {
    return NO_EVENTS;
  }

  get resource(): Resource {
    return this.#sink.resource;
  }

  get instrumentationScope(): InstrumentationScope {
    return this.#sink.scope;
  }

  get droppedAttributesCount(): number {
    return 0;
  }

  get droppedEventsCount(): number {
    return 0;
  }

  get droppedLinksCount(): number {
    return 0;
  }
}
