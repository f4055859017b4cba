/**
 * The Telemetry port on OpenTelemetry (SDK 2.x, no auto-instrumentation): a BasicTracerProvider
 * with a batch span processor and an OTLP/HTTP exporter (http/json or http/protobuf), configured by
 * the standard `OTEL_*` variables. Spans take an explicit parent (a run's stored trace context), so a
 * run is one trace across Lambda invocations, waits and restarts; the active span is carried by
 * AsyncLocalStorage inside one process. A run's root span is created with the ids stored when the
 * run began, through an IdGenerator that hands out a chosen id once.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  type Link,
  type Span as OtelSpan,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type IdGenerator,
  RandomIdGenerator,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import packageJson from '../../package.json' with { type: 'json' };
import { redactText } from '../observability/redact.js';
import type {
  Attributes,
  SpanKind as PortSpanKind,
  RunTrace,
  Span,
  Telemetry,
  TraceContext,
} from '../ports/telemetry.js';
import { processSecrets } from './logger.js';
import { randomSpanId, randomTraceContext } from './no-telemetry.js';
import type { OtlpSettings } from './otel-settings.js';

/** Random ids, except the ones a caller chose for the next span (a run's root): used once, at once. */
class ChosenIdGenerator implements IdGenerator {
  readonly #random = new RandomIdGenerator();
  chosen: TraceContext | undefined;

  generateTraceId(): string {
    return this.chosen?.trace_id ?? this.#random.generateTraceId();
  }

  generateSpanId(): string {
    return this.chosen?.span_id ?? this.#random.generateSpanId();
  }
}

const KINDS: Record<PortSpanKind, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

class OtelSpanHandle implements Span {
  readonly context: TraceContext;
  readonly #span: OtelSpan;

  constructor(span: OtelSpan) {
    this.#span = span;
    const { traceId, spanId } = span.spanContext();
    this.context = { trace_id: traceId, span_id: spanId };
  }

  setAttributes(attributes: Attributes): void {
    this.#span.setAttributes(defined(attributes));
  }

  fail(error: { code: string; message: string }): void {
    // Error messages are the one free text a span carries: the log lines' redaction applies to them.
    this.#span.setAttribute('error.type', redactText(error.code, processSecrets));
    this.#span.setStatus({ code: SpanStatusCode.ERROR, message: redactText(error.message, processSecrets) });
  }

  end(endTime?: Date): void {
    this.#span.end(endTime);
  }
}

function defined(attributes: Attributes | undefined): Record<string, string | number | boolean | string[]> {
  const out: Record<string, string | number | boolean | string[]> = {};
  for (const [key, value] of Object.entries(attributes ?? {})) if (value !== undefined) out[key] = value;
  return out;
}

function remoteContext(parent: TraceContext): Context {
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId: parent.trace_id,
    spanId: parent.span_id,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
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
  const ids = new ChosenIdGenerator();
  const processor =
    options.processor === 'simple'
      ? new SimpleSpanProcessor(options.exporter)
      : new BatchSpanProcessor(options.exporter);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.serviceName ?? 'flowrunner',
      'service.version': packageJson.version,
    }),
    idGenerator: ids,
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('flowrunner', packageJson.version);
  const active = new AsyncLocalStorage<TraceContext>();
  return {
    enabled: true,
    newTrace: randomTraceContext,
    childTrace(): RunTrace {
      const parent = active.getStore();
      return parent
        ? { trace_id: parent.trace_id, span_id: randomSpanId(), parent_span_id: parent.span_id }
        : randomTraceContext();
    },
    startSpan(name, spanOptions = {}) {
      const parent = spanOptions.parent ?? (spanOptions.self ? undefined : active.getStore());
      const links: Link[] = (spanOptions.links ?? []).map((link) => ({
        context: {
          traceId: link.trace_id,
          spanId: link.span_id,
          traceFlags: TraceFlags.SAMPLED,
          isRemote: true,
        },
      }));
      // The tracer asks the generator for the span id (and, without a parent, the trace id) synchronously.
      ids.chosen = spanOptions.self;
      try {
        const span = tracer.startSpan(
          name,
          {
            kind: KINDS[spanOptions.kind ?? 'internal'],
            attributes: defined(spanOptions.attributes),
            links,
            ...(spanOptions.startTime ? { startTime: spanOptions.startTime } : {}),
          },
          parent ? remoteContext(parent) : ROOT_CONTEXT,
        );
        return new OtelSpanHandle(span);
      } finally {
        ids.chosen = undefined;
      }
    },
    withSpan: (span, fn) => active.run(span.context, fn),
    active: () => active.getStore(),
    // A collector that is down or slow loses spans, never a run or an invocation: export errors end here
    // (OpenTelemetry's diagnostics report them).
    flush: () => provider.forceFlush().catch(() => undefined),
    shutdown: () => provider.shutdown().catch(() => undefined),
  };
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
