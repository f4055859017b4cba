/**
 * The Telemetry port on OpenTelemetry (SDK 2.x, no auto-instrumentation): spans go through the SDK's
 * batch span processor to an OTLP/HTTP exporter (http/json or http/protobuf), configured by the
 * standard `OTEL_*` variables (otel-settings.ts). Spans take an explicit parent (a run's stored trace
 * context), so a run is one trace across Lambda invocations, waits and restarts; inside one process
 * the engine hands the active span down explicitly (`under`), and only the API's request span rides
 * on AsyncLocalStorage (`withSpan`).
 *
 * The spans are recorded here as the SDK's `ReadableSpan` and handed to the processor when they end,
 * rather than made by the SDK's Tracer: a run's root span must carry the ids stored when the run
 * began (the Tracer draws ids from its IdGenerator; a generator that hands out chosen ids works too,
 * but must be told before each span), and the Tracer's span costs 4–8 µs, a third of what the engine
 * spends on a step, where this one costs about 1 µs (`tracing_overhead_pct` in `npm run bench`).
 * Every span is sampled: a run's trace is whole or absent.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
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
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  RandomIdGenerator,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import packageJson from '../../package.json' with { type: 'json' };
import { redactText } from '../observability/redact.js';
import type {
  Attributes,
  SpanKind as PortSpanKind,
  RunTrace,
  Span,
  SpanOptions,
  Telemetry,
  TraceContext,
} from '../ports/telemetry.js';
import { processSecrets } from './logger.js';
import { randomTraceContext } from './no-telemetry.js';
import type { OtlpSettings } from './otel-settings.js';

const KINDS: Record<PortSpanKind, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

const SCOPE = { name: 'flowrunner', version: packageJson.version };
/** Error messages are free text: kept short, as a span is no place for a payload. */
const MAX_MESSAGE = 1_000;

const TIME_ORIGIN = performance.timeOrigin;

/** Now, as OpenTelemetry's [seconds, nanoseconds], with the monotonic clock's sub-millisecond part. */
function hrNow(): HrTime {
  return hrTime(TIME_ORIGIN + performance.now());
}

function hrTime(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

function remote(context: TraceContext): SpanContext {
  return {
    traceId: context.trace_id,
    spanId: context.span_id,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  };
}

/** One span as the SDK's processors and exporters read it, recorded until it ends. */
class RecordedSpan implements Span, ReadableSpan {
  readonly context: TraceContext;
  readonly name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext: SpanContext | undefined;
  readonly startTime: HrTime;
  endTime: HrTime = [0, 0];
  status: SpanStatus = { code: SpanStatusCode.UNSET };
  readonly attributes: OtelAttributes = {};
  readonly links: Link[];
  readonly events = [];
  ended = false;
  readonly resource: Resource;
  readonly instrumentationScope = SCOPE;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  readonly #spanContext: SpanContext;
  readonly #processor: SpanProcessor;

  constructor(
    name: string,
    context: TraceContext,
    parent: TraceContext | undefined,
    options: SpanOptions,
    resource: Resource,
    processor: SpanProcessor,
  ) {
    this.name = name;
    this.context = context;
    this.#spanContext = {
      traceId: context.trace_id,
      spanId: context.span_id,
      traceFlags: TraceFlags.SAMPLED,
    };
    this.parentSpanContext = parent ? remote(parent) : undefined;
    this.kind = KINDS[options.kind ?? 'internal'];
    this.startTime = options.startTime ? hrTime(options.startTime.getTime()) : hrNow();
    this.links = options.links?.map((link) => ({ context: remote(link) })) ?? [];
    this.resource = resource;
    this.#processor = processor;
    if (options.attributes) this.setAttributes(options.attributes);
  }

  spanContext(): SpanContext {
    return this.#spanContext;
  }

  get duration(): HrTime {
    const nanos = (this.endTime[0] - this.startTime[0]) * 1e9 + (this.endTime[1] - this.startTime[1]);
    return [Math.floor(nanos / 1e9), nanos % 1e9];
  }

  setAttributes(attributes: Attributes): void {
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined) this.attributes[key] = value;
    }
  }

  fail(error: { code: string; message: string }): void {
    // The one free text a span carries: the log lines' redaction applies to it.
    this.attributes['error.type'] = redactText(error.code, processSecrets);
    this.status = {
      code: SpanStatusCode.ERROR,
      message: redactText(error.message.slice(0, MAX_MESSAGE), processSecrets),
    };
  }

  end(endTime?: Date): void {
    if (this.ended) return;
    this.ended = true;
    this.endTime = endTime ? hrTime(endTime.getTime()) : hrNow();
    this.#processor.onEnd(this);
  }
}

export interface OtelTelemetryOptions {
  exporter: SpanExporter;
  /** `batch` (default): spans are exported in the background and on `flush`; `simple`: one export per span. */
  processor?: 'batch' | 'simple';
  serviceName?: string;
}

export interface OtelTelemetry extends Telemetry {
  /** Exports what is left and stops the exporter. */
  shutdown(): Promise<void>;
}

export function createOtelTelemetry(options: OtelTelemetryOptions): OtelTelemetry {
  const processor: SpanProcessor =
    options.processor === 'simple'
      ? new SimpleSpanProcessor(options.exporter)
      : new BatchSpanProcessor(options.exporter);
  const resource = resourceFromAttributes({
    'service.name': options.serviceName ?? 'flowrunner',
    'service.version': packageJson.version,
  });
  // A collector that is down or slow loses spans, never a run or an invocation: export errors end
  // here (OpenTelemetry's diagnostics report them).
  return new TelemetryView(
    {
      processor,
      resource,
      requests: new AsyncLocalStorage<TraceContext>(),
      ids: new RandomIdGenerator(),
      flush: () => processor.forceFlush().catch(() => undefined),
      shutdown: () => processor.shutdown().catch(() => undefined),
    },
    undefined,
  );
}

interface Shared {
  processor: SpanProcessor;
  resource: Resource;
  /** Only the API makes it active (withSpan): on Node 20 an AsyncLocalStorage in use taxes every promise. */
  requests: AsyncLocalStorage<TraceContext>;
  /** The SDK's ids (Math.random: unique, not secret, as W3C asks); crypto's cost 2 µs each. */
  ids: RandomIdGenerator;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The telemetry with one span active (`under`), or none: a view is one small object, made per step. */
class TelemetryView implements OtelTelemetry {
  readonly enabled = true;
  readonly #shared: Shared;
  readonly #parent: TraceContext | undefined;

  constructor(shared: Shared, parent: TraceContext | undefined) {
    this.#shared = shared;
    this.#parent = parent;
  }

  newTrace(): TraceContext {
    return randomTraceContext();
  }

  childTrace(): RunTrace {
    const active = this.active();
    return active
      ? {
          trace_id: active.trace_id,
          span_id: this.#shared.ids.generateSpanId(),
          parent_span_id: active.span_id,
        }
      : randomTraceContext();
  }

  startSpan(name: string, options: SpanOptions = {}): RecordedSpan {
    const { ids, resource, processor } = this.#shared;
    // A span with chosen ids (a run's root) has no parent unless one is given.
    const parent = options.parent ?? (options.self ? undefined : this.active());
    const context = options.self ?? {
      trace_id: parent ? parent.trace_id : ids.generateTraceId(),
      span_id: ids.generateSpanId(),
    };
    return new RecordedSpan(name, context, parent, options, resource, processor);
  }

  under(parent: TraceContext): Telemetry {
    return new TelemetryView(this.#shared, parent);
  }

  withSpan<T>(span: Span, fn: () => T): T {
    return this.#shared.requests.run(span.context, fn);
  }

  active(): TraceContext | undefined {
    return this.#parent ?? this.#shared.requests.getStore();
  }

  flush(): Promise<void> {
    return this.#shared.flush();
  }

  shutdown(): Promise<void> {
    return this.#shared.shutdown();
  }
}

/** OpenTelemetry exporting over OTLP/HTTP as the settings say (otel-settings.ts reads them from `OTEL_*`). */
export function createOtlpTelemetry(settings: OtlpSettings): OtelTelemetry {
  const exporter =
    settings.protocol === 'http/json'
      ? new OtlpJsonExporter(exporterConfig(settings))
      : new OtlpProtobufExporter(exporterConfig(settings));
  return createOtelTelemetry({ exporter, serviceName: settings.serviceName });
}

function exporterConfig(settings: OtlpSettings) {
  return { url: settings.url, headers: settings.headers, timeoutMillis: settings.timeoutMs };
}
