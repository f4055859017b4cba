/**
 * The OpenTelemetry adapter of the Telemetry port: a run's root span carries the ids stored when the
 * run began, spans take an explicit parent, links and the active span work, and the OTLP settings
 * come from the standard variables. A loopback collector receives the spans in http/json and
 * http/protobuf. The batch processor's limits hold with a slow exporter (spans past the queue are
 * dropped, the rest exported), a flush answers when the exporter never does, and shutdown exports
 * what is queued. A span keeps the caller's attribute object without changing it; ids are random,
 * distinct and valid across refills of their pool.
 */
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../shared/adapters/logger.js';
import { noTelemetry } from '../../../shared/adapters/no-telemetry.js';
import { createOtelTelemetry } from '../../../shared/adapters/otel.js';
import { otlpSettings, telemetryFromEnv } from '../../../shared/adapters/otel-settings.js';
import { hrTime } from '../../../shared/adapters/span-record.js';
import { randomSpanId, randomTraceContext } from '../../../shared/adapters/trace-ids.js';
import { ConfigurationError } from '../../../shared/errors.js';
import { type OtlpCollector, startOtlpCollector } from '../../support/otlp-collector.js';

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

function inMemory() {
  const exporter = new InMemorySpanExporter();
  const telemetry = createOtelTelemetry({ exporter, processor: 'simple' });
  return { exporter, telemetry, spans: () => exporter.getFinishedSpans() as ReadableSpan[] };
}

describe('createOtelTelemetry', () => {
  it('emits a span with the ids chosen before (a run root stored at creation), at its true start', () => {
    const { telemetry, spans } = inMemory();
    const root = telemetry.newTrace();
    expect(root.trace_id).toMatch(HEX32);
    expect(root.span_id).toMatch(HEX16);
    const start = new Date('2026-01-01T00:00:00.000Z');
    const end = new Date('2026-01-03T12:00:00.000Z');
    telemetry.startSpan('run demo', { self: root, startTime: start }).end(end);
    const [span] = spans();
    expect(span!.spanContext().traceId).toBe(root.trace_id);
    expect(span!.spanContext().spanId).toBe(root.span_id);
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.startTime).toEqual([Math.floor(start.getTime() / 1000), 0]);
    expect(span!.endTime).toEqual([Math.floor(end.getTime() / 1000), 0]);
  });

  it('hangs a child run root under its parent step, with its own chosen id', () => {
    const { telemetry, spans } = inMemory();
    const step = telemetry.startSpan('step workflow');
    const child = telemetry.withSpan(step, () => telemetry.childTrace());
    expect(child.trace_id).toBe(step.context.trace_id);
    expect(child.parent_span_id).toBe(step.context.span_id);
    step.end();
    telemetry
      .startSpan('run child', {
        self: child,
        parent: { trace_id: child.trace_id, span_id: child.parent_span_id! },
      })
      .end();
    const root = spans().find((s) => s.name === 'run child')!;
    expect(root.spanContext().spanId).toBe(child.span_id);
    expect(root.parentSpanContext?.spanId).toBe(step.context.span_id);
  });

  it('takes an explicit parent over the active span, and links other traces', () => {
    const { telemetry, spans } = inMemory();
    const run = telemetry.newTrace();
    const request = telemetry.startSpan('POST /v1/executions/{id}/resume', { kind: 'server' });
    telemetry.withSpan(request, () => {
      expect(telemetry.active()).toEqual(request.context);
      telemetry.startSpan('signal.deliver', { parent: run, links: [request.context] }).end();
      telemetry.startSpan('inside').end();
    });
    request.end();
    expect(telemetry.active()).toBeUndefined();
    const deliver = spans().find((s) => s.name === 'signal.deliver')!;
    expect(deliver.spanContext().traceId).toBe(run.trace_id);
    expect(deliver.parentSpanContext?.spanId).toBe(run.span_id);
    expect(deliver.links.map((l) => l.context.spanId)).toEqual([request.context.span_id]);
    const inside = spans().find((s) => s.name === 'inside')!;
    expect(inside.parentSpanContext?.spanId).toBe(request.context.span_id);
  });

  it('hands a span down explicitly: spans and child traces through `under` hang under it', () => {
    const { telemetry, spans } = inMemory();
    const advance = telemetry.startSpan('advance', { parent: telemetry.newTrace() });
    const inside = telemetry.under(advance.context);
    expect(inside.active()).toEqual(advance.context);
    expect(telemetry.active()).toBeUndefined();
    inside.startSpan('step form').end();
    expect(inside.childTrace()).toMatchObject({
      trace_id: advance.context.trace_id,
      parent_span_id: advance.context.span_id,
    });
    const [step] = spans();
    expect(step!.parentSpanContext?.spanId).toBe(advance.context.span_id);
    expect(step!.spanContext().traceId).toBe(advance.context.trace_id);
  });

  it('uses chosen ids once: the next span gets fresh ones', () => {
    const { telemetry, spans } = inMemory();
    const root = telemetry.newTrace();
    telemetry.startSpan('run', { self: root }).end();
    telemetry.startSpan('other').end();
    const [first, second] = spans();
    expect(second!.spanContext().spanId).not.toBe(first!.spanContext().spanId);
    expect(second!.spanContext().traceId).not.toBe(root.trace_id);
  });

  it('marks a failed span with the error code and a redacted message', () => {
    const { telemetry, spans } = inMemory();
    const span = telemetry.startSpan('step api_call');
    span.fail({ code: 'HttpStatus', message: 'refused for ada@example.com with Bearer abc.def' });
    span.end();
    const [done] = spans();
    expect(done!.attributes['error.type']).toBe('HttpStatus');
    expect(done!.status.code).toBe(2);
    expect(done!.status.message).not.toContain('ada@example.com');
    expect(done!.status.message).not.toContain('abc.def');
  });
});

describe('noTelemetry', () => {
  it('still gives runs trace ids, and records nothing', () => {
    const trace = noTelemetry.newTrace();
    expect(trace.trace_id).toMatch(HEX32);
    expect(trace.span_id).toMatch(HEX16);
    expect(noTelemetry.enabled).toBe(false);
    expect(noTelemetry.withSpan(noTelemetry.startSpan('x'), () => 7)).toBe(7);
    expect(noTelemetry.active()).toBeUndefined();
  });
});

describe('otlpSettings', () => {
  it('is off without an endpoint, or when the SDK or the traces exporter is disabled', () => {
    expect(otlpSettings({})).toBeUndefined();
    expect(
      otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
    expect(
      otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBeUndefined();
  });

  it('reads the endpoint, protocol, headers and service name', () => {
    expect(
      otlpSettings({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: 'x-team=flow,authorization=Basic%20abc',
        OTEL_SERVICE_NAME: 'flow-prod',
      }),
    ).toEqual({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/json',
      headers: { 'x-team': 'flow', authorization: 'Basic abc' },
      serviceName: 'flow-prod',
      timeoutMs: 10_000,
    });
    expect(
      otlpSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c.example.com/custom/traces' }),
    ).toMatchObject({ url: 'https://c.example.com/custom/traces', protocol: 'http/protobuf' });
  });

  it('names a bad setting', () => {
    expect(() => otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/,
    );
    expect(() =>
      otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }),
    ).toThrow(ConfigurationError);
    expect(() =>
      otlpSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }),
    ).toThrow(/OTEL_EXPORTER_OTLP_TIMEOUT/);
  });
});

describe('export to a loopback OTLP/HTTP collector', () => {
  let collector: OtlpCollector | undefined;
  afterEach(async () => {
    await collector?.close();
    collector = undefined;
  });

  it('sends http/json that a collector reads, with the chosen ids', async () => {
    collector = await startOtlpCollector();
    const telemetry = await telemetryFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    const root = telemetry.newTrace();
    telemetry.startSpan('advance', { parent: root, attributes: { 'flowrunner.run.id': 'run_1' } }).end();
    telemetry.startSpan('run demo', { self: root }).end();
    await telemetry.flush();
    expect(collector.requests.map((r) => [r.path, r.contentType])).toEqual([
      ['/v1/traces', 'application/json'],
    ]);
    const spans = collector.jsonSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(['advance', 'run demo']);
    const advance = spans.find((s) => s.name === 'advance')!;
    expect(advance).toMatchObject({ traceId: root.trace_id, parentSpanId: root.span_id });
    expect(advance.attributes['flowrunner.run.id']).toBe('run_1');
    expect(spans.find((s) => s.name === 'run demo')!.spanId).toBe(root.span_id);
    await telemetry.shutdown?.();
  });

  it('sends http/protobuf holding the trace id and span names', async () => {
    collector = await startOtlpCollector();
    const telemetry = await telemetryFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
    const root = telemetry.newTrace();
    telemetry.startSpan('run demo', { self: root }).end();
    await telemetry.flush();
    const [request] = collector.requests;
    expect(request!.contentType).toBe('application/x-protobuf');
    // Protobuf keeps ids as raw bytes and names as UTF-8.
    expect(request!.body.includes(Buffer.from(root.trace_id, 'hex'))).toBe(true);
    expect(request!.body.includes(Buffer.from(root.span_id, 'hex'))).toBe(true);
    expect(request!.body.includes(Buffer.from('run demo'))).toBe(true);
    await telemetry.shutdown?.();
  });

  it('loses spans, not the process, when the collector is down', async () => {
    const telemetry = await telemetryFromEnv({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
    });
    telemetry.startSpan('advance').end();
    await expect(telemetry.flush()).resolves.toBeUndefined();
    await telemetry.shutdown?.();
  });
});

/** An exporter that answers only when told to (`answer`), or at once after `answerAll`; or never. */
class SlowExporter implements SpanExporter {
  readonly batches: string[][] = [];
  stopped = false;
  #waiting: Array<(result: ExportResult) => void> = [];
  #atOnce = false;

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.batches.push(spans.map((span) => span.name));
    if (this.#atOnce) done({ code: ExportResultCode.SUCCESS });
    else this.#waiting.push(done);
  }

  answerAll(): void {
    this.#atOnce = true;
    for (const done of this.#waiting.splice(0)) done({ code: ExportResultCode.SUCCESS });
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
  }
}

describe('the batch processor', () => {
  it('drops the spans past its queue while an export is slow, and exports the rest once it answers', async () => {
    const exporter = new SlowExporter();
    const telemetry = createOtelTelemetry({
      exporter,
      batch: { maxQueueSize: 4, maxExportBatchSize: 2, scheduledDelayMillis: 60_000 },
    });
    telemetry.startSpan('s0').end();
    telemetry.startSpan('s1').end();
    // A full batch goes to the exporter at once; it has not answered yet.
    expect(exporter.batches).toEqual([['s0', 's1']]);
    for (let i = 2; i < 12; i++) expect(() => telemetry.startSpan(`s${i}`).end()).not.toThrow();
    exporter.answerAll();
    await telemetry.flush();
    expect(exporter.batches.flat()).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    await telemetry.shutdown();
  });

  it('says in a log line how many spans it dropped', async () => {
    const warned = vi.spyOn(logger, 'warn').mockImplementation(() => {});
    try {
      const exporter = new SlowExporter();
      const telemetry = createOtelTelemetry({
        exporter,
        batch: { maxQueueSize: 2, maxExportBatchSize: 2, scheduledDelayMillis: 60_000 },
      });
      for (let i = 0; i < 7; i++) telemetry.startSpan(`s${i}`).end();
      exporter.answerAll();
      await telemetry.flush();
      telemetry.startSpan('after').end();
      expect(warned).toHaveBeenCalledWith(expect.stringMatching(/^opentelemetry: Dropped 3 spans/), {});
      exporter.answerAll();
      await telemetry.shutdown();
    } finally {
      warned.mockRestore();
    }
  });

  it('answers a flush when the exporter never does, after the export timeout', async () => {
    const exporter = new SlowExporter();
    const telemetry = createOtelTelemetry({ exporter, batch: { exportTimeoutMillis: 50 } });
    telemetry.startSpan('lost').end();
    await expect(telemetry.flush()).resolves.toBeUndefined();
    expect(exporter.batches).toEqual([['lost']]);
  });

  it('exports what is queued on shutdown, stops the exporter, and records nothing after', async () => {
    const exporter = new SlowExporter();
    exporter.answerAll();
    const telemetry = createOtelTelemetry({ exporter, batch: { scheduledDelayMillis: 60_000 } });
    telemetry.startSpan('queued').end();
    expect(exporter.batches).toEqual([]);
    await telemetry.shutdown();
    expect(exporter.batches).toEqual([['queued']]);
    expect(exporter.stopped).toBe(true);
    telemetry.startSpan('late').end();
    await telemetry.flush();
    expect(exporter.batches.flat()).toEqual(['queued']);
  });
});

describe('a recorded span', () => {
  it('keeps the attribute object it is given, and never changes it', () => {
    const { telemetry, spans } = inMemory();
    const given = { 'flowrunner.step.id': 'charge' };
    const span = telemetry.startSpan('step api_call', { attributes: given });
    span.setAttributes({ 'flowrunner.step.result': 'failed' });
    span.fail({ code: 'HttpStatus', message: 'refused' });
    span.end();
    span.setAttributes({ 'flowrunner.step.outcome': 'late' });
    expect(given).toEqual({ 'flowrunner.step.id': 'charge' });
    expect(spans()[0]!.attributes).toEqual({
      'flowrunner.step.id': 'charge',
      'flowrunner.step.result': 'failed',
      'error.type': 'HttpStatus',
    });
  });

  it('reads as the SDK span the exporters take: context, parent, kind, times and no events', () => {
    const { telemetry, spans } = inMemory();
    const parent = telemetry.newTrace();
    const start = new Date('2026-01-01T00:00:00.250Z');
    const span = telemetry.startSpan('chat mock', { parent, kind: 'client', startTime: start });
    span.end(new Date('2026-01-01T00:00:01.750Z'));
    const [done] = spans();
    expect(done!.spanContext()).toMatchObject({
      traceId: parent.trace_id,
      spanId: span.context.span_id,
      traceFlags: 1,
    });
    expect(done!.parentSpanContext).toMatchObject({
      traceId: parent.trace_id,
      spanId: parent.span_id,
      isRemote: true,
    });
    expect(done!.kind).toBe(2);
    expect(done!.startTime).toEqual([Math.floor(start.getTime() / 1000), 250_000_000]);
    expect(done!.duration).toEqual([1, 500_000_000]);
    expect(done!.ended).toBe(true);
    expect(done!.events).toEqual([]);
    expect(done!.links).toEqual([]);
    expect(done!.resource.attributes['service.name']).toBe('flowrunner');
  });

  it('turns epoch milliseconds into [seconds, nanoseconds], carrying a rounded-up second', () => {
    expect(hrTime(1_767_225_600_250.5)).toEqual([1_767_225_600, 250_500_000]);
    expect(hrTime(1_999.999_999_9)).toEqual([2, 0]);
  });
});

describe('trace ids', () => {
  it('are lower-case hex of the W3C lengths, never repeated, across refills of the pool', () => {
    const spanIds = Array.from({ length: 3_000 }, () => randomSpanId());
    const traces = Array.from({ length: 600 }, () => randomTraceContext());
    for (const id of spanIds) expect(id).toMatch(HEX16);
    for (const trace of traces) {
      expect(trace.trace_id).toMatch(HEX32);
      expect(trace.span_id).toMatch(HEX16);
    }
    const all = [...spanIds, ...traces.map((t) => t.span_id)];
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(traces.map((t) => t.trace_id)).size).toBe(traces.length);
  });
});
