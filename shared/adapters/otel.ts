/**
 * The Telemetry port on OpenTelemetry (SDK 2.x, no auto-instrumentation): spans go through the SDK's
 * batch span processor to an OTLP/HTTP exporter (http/json or http/protobuf), configured by the
 * standard `OTEL_*` variables (otel-settings.ts). Spans take an explicit parent (a run's stored trace
 * context), so a run is one trace across Lambda invocations, waits and restarts; inside one process
 * the engine hands the active span down explicitly (`under`), and only the API's request span rides
 * on AsyncLocalStorage (`withSpan`).
 *
 * The spans are ours, not the SDK Tracer's: a compact record (span-record.ts) that the SDK's batch
 * span processor queues and the OTLP exporters read as a `ReadableSpan`, with ids from a pool of
 * random bytes (trace-ids.ts). A run's root span must carry the ids stored when the run began, which
 * the Tracer cannot do without being told before each span, and the Tracer's span costs 4–8 µs
 * where a record costs a fraction of one (`tracing_added_us_per_step` in `npm run bench`). The
 * processor, its limits (`OTEL_BSP_*`), flush and shutdown, and the exporters are the SDK's own.
 * Every span is sampled: a run's trace is whole or absent.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type BufferConfig,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import packageJson from '../../package.json' with { type: 'json' };
import type { RunTrace, Span, SpanOptions, Telemetry, TraceContext } from '../ports/telemetry.js';
import { logger } from './logger.js';
import type { OtlpSettings } from './otel-settings.js';
import { SpanRecord, type SpanSink } from './span-record.js';
import { randomSpanId, randomTraceContext, randomTraceId } from './trace-ids.js';

export interface OtelTelemetryOptions {
  exporter: SpanExporter;
  /** `batch` (default): spans are exported in the background and on `flush`; `simple`: one export per span. */
  processor?: 'batch' | 'simple';
  /**
   * The batch processor's limits; each one not given comes from its `OTEL_BSP_*` variable, else the
   * SDK's default: a queue of 2,048 spans (`maxQueueSize`: past it, while an export is under way, new
   * spans are dropped), batches of 512, an export every 5 s, 30 s for one export.
   */
  batch?: BufferConfig;
  serviceName?: string;
}

export interface OtelTelemetry extends Telemetry {
  /** Exports what is left and stops the exporter. */
  shutdown(): Promise<void>;
}

/**
 * OpenTelemetry's own diagnostics (spans dropped because a collector is slow, an export that failed)
 * as warning and error lines of the process's logger: without a logger they went nowhere.
 */
let diagnosticsReported = false;

function reportDiagnostics(): void {
  if (diagnosticsReported) return;
  diagnosticsReported = true;
  const line =
    (level: 'warn' | 'error') =>
    (message: string, ...args: unknown[]) =>
      logger[level](
        `opentelemetry: ${message}`,
        args.length > 0 ? { details: args.map(String).join(' ') } : {},
      );
  diag.setLogger(
    {
      error: line('error'),
      warn: line('warn'),
      info: () => {},
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
}

export function createOtelTelemetry(options: OtelTelemetryOptions): OtelTelemetry {
  reportDiagnostics();
  const processor: SpanProcessor =
    options.processor === 'simple'
      ? new SimpleSpanProcessor(options.exporter)
      : new BatchSpanProcessor(options.exporter, { ...options.batch });
  const sink: SpanSink = {
    processor,
    resource: resourceFromAttributes({
      'service.name': options.serviceName ?? 'flowrunner',
      'service.version': packageJson.version,
    }),
    scope: { name: 'flowrunner', version: packageJson.version },
  };
  // A collector that is down or slow loses spans, never a run or an invocation: export errors end
  // here (OpenTelemetry's diagnostics report them, `reportDiagnostics`).
  return new TelemetryView(
    {
      sink,
      requests: new AsyncLocalStorage<TraceContext>(),
      flush: () => processor.forceFlush().catch(() => undefined),
      shutdown: () => processor.shutdown().catch(() => undefined),
    },
    undefined,
  );
}

interface Shared {
  sink: SpanSink;
  /** Only the API makes it active (withSpan): on Node 20 an AsyncLocalStorage in use taxes every promise. */
  requests: AsyncLocalStorage<TraceContext>;
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
      ? { trace_id: active.trace_id, span_id: randomSpanId(), parent_span_id: active.span_id }
      : randomTraceContext();
  }

  startSpan(name: string, options?: SpanOptions): SpanRecord {
    // A span with chosen ids (a run's root) has no parent unless one is given.
    const self = options?.self;
    if (self !== undefined) {
      return new SpanRecord(name, self.trace_id, self.span_id, options?.parent, options, this.#shared.sink);
    }
    const parent = options?.parent ?? this.active();
    const traceId = parent === undefined ? randomTraceId() : parent.trace_id;
    return new SpanRecord(name, traceId, randomSpanId(), parent, options, this.#shared.sink);
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
