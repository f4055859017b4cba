/**
 * The OpenTelemetry adapter of the Telemetry port: a run's root span carries the ids stored when the
 * run began, spans take an explicit parent, links and the active span work, and the OTLP settings
 * come from the standard variables. A loopback collector receives the spans in http/json and
 * http/protobuf.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { noTelemetry } from '../../../shared/adapters/no-telemetry.js';
import { createOtelTelemetry } from '../../../shared/adapters/otel.js';
import { otlpSettings, telemetryFromEnv } from '../../../shared/adapters/otel-settings.js';
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
