/**
 * One trace per run (CONTRACT §10, issue 15): a run that starts over HTTP, waits on a form while the
 * local runtime restarts, is resumed over HTTP, calls an API with a secret, runs a child workflow
 * whose step asks a model, and completes, is one trace: its root span has the ids stored at the
 * start and its true start time, the child's root hangs under the parent's `workflow` step, the
 * start and the resume link to their HTTP requests (which continue the callers' traceparent). No
 * span and no log line holds the secret, the API key or the callback token, and nothing in them is
 * something the redaction corpus would take out. The metrics of the same run parse from /metrics.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalServer, startLocalServer } from '../../../infra/local/server.js';
import { createOtelTelemetry, type OtelTelemetry } from '../../../shared/adapters/otel.js';
import type { RunState } from '../../../shared/engine/types.js';
import { Redactor } from '../../../shared/expressions/redactor.js';
import { redactValue } from '../../../shared/observability/redact.js';
import { apiClient } from '../../support/api-client.js';
import { type HttpSink, startHttpSink } from '../../support/http-sink.js';
import { parsePrometheus } from '../../support/prometheus-text.js';

const SECRET = 'tr4ce-mail-token-77aa31';
const API_KEY = 'fr-key-tracing-5e1c9b02';
const REQUEST_TRACE = {
  start: '4bf92f3577b34da6a3ce929d0e0e4736',
  resume: '0af7651916cd43dd8448eb211c80319c',
};

const CHILD = `schema_version: "1.0"
id: trace-child
steps:
  - id: greet
    type: ai_generate
    config:
      prompt: "Greet {{ inputs.name }}"
      json_schema:
        type: object
        required: [greeting]
        properties: { greeting: { type: string } }
`;

const parentYaml = (sink: string) => `schema_version: "1.0"
id: trace-parent
steps:
  - id: collect
    type: form
    config:
      fields:
        - { key: name, type: string, required: true }
    next: notify
  - id: notify
    type: api_call
    config:
      method: POST
      url: "${sink}/notify"
      headers: { Authorization: "Bearer {{ secrets.mail_token }}" }
      body: { to: "{{ steps.collect.output.name }}" }
    next: child
  - id: child
    type: workflow
    config: { workflow_id: trace-child, inputs: { name: "{{ steps.collect.output.name }}" } }
`;

let dataDir: string;
let sink: HttpSink;
let server: LocalServer;
let exporter: InMemorySpanExporter;
let telemetry: OtelTelemetry;
const logLines: string[] = [];
let runId: string;
let callbackToken: string;
let metricsText: string;
let metricsWithoutKey: number;

const env = {
  FLOWRUNNER_SECRET_MAIL_TOKEN: SECRET,
  FLOWRUNNER_API_KEYS: `ops=${API_KEY}`,
  FLOWRUNNER_CORS_ORIGINS: '',
};

const start = () => startLocalServer({ dataDir, port: 0, env, telemetry });
const { call, until } = apiClient(
  () => server.url,
  () => ({ authorization: `Bearer ${API_KEY}` }),
);

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-tracing-'));
  sink = await startHttpSink();
  exporter = new InMemorySpanExporter();
  telemetry = createOtelTelemetry({ exporter, processor: 'simple' });
  // The log lines of the server and the runtime (Powertools writes them to stdout).
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
    for (const line of String(chunk).split('\n')) if (line.startsWith('{')) logLines.push(line);
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);

  server = await start();
  expect((await call('POST', '/v1/workflows', CHILD)).status).toBe(201);
  expect((await call('POST', '/v1/workflows', parentYaml(sink.url))).status).toBe(201);
  const started = await call(
    'POST',
    '/v1/executions',
    { workflow_id: 'trace-parent' },
    {
      traceparent: `00-${REQUEST_TRACE.start}-00f067aa0ba902b7-01`,
    },
  );
  expect(started.status).toBe(202);
  runId = started.body.id as string;
  const waiting = await until(runId, (r) => r.waiting.some((w) => w.step_id === 'collect'));
  callbackToken = waiting.waiting[0]!.callback_token as string;

  // The runtime stops in the middle of the wait, and a new one picks the run up.
  await server.close();
  server = await start();
  const resumed = await call(
    'POST',
    `/v1/executions/${runId}/resume`,
    { inputs: { name: 'Ada Lovelace' } },
    { traceparent: `00-${REQUEST_TRACE.resume}-b7ad6b7169203331-01` },
  );
  expect(resumed.status).toBe(202);
  await until(runId, (r) => r.status === 'completed');
  const metrics = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` } });
  expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  metricsText = await metrics.text();
  metricsWithoutKey = (await fetch(`${server.url}/metrics`)).status;
  await server.close();
  vi.restoreAllMocks();
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await sink?.close();
  await telemetry?.shutdown();
  await rm(dataDir, { recursive: true, force: true });
});

const spans = () => exporter.getFinishedSpans() as ReadableSpan[];
const named = (name: string) => spans().filter((s) => s.name === name);
const ms = (time: [number, number]) => time[0] * 1000 + Math.round(time[1] / 1e6);

async function storedRun(id: string): Promise<RunState> {
  // The data directory outlives the servers: a third start reads what they stored.
  const reader = await start();
  try {
    return (await reader.runtime.local.stores.runs.get(id)).state;
  } finally {
    await reader.close();
  }
}

describe('one trace per run', () => {
  it('holds every span of the run and its child, across the restart, under the stored root', async () => {
    const run = await storedRun(runId);
    const trace = run.trace!;
    expect(trace.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.parent_span_id).toBeUndefined();

    const [root] = named('run trace-parent');
    expect(root, 'the root span is emitted when the run ends').toBeDefined();
    expect(root!.spanContext()).toMatchObject({ traceId: trace.trace_id, spanId: trace.span_id });
    expect(root!.parentSpanContext).toBeUndefined();
    expect(ms(root!.startTime)).toBe(Date.parse(run.created_at));
    expect(ms(root!.endTime)).toBe(Date.parse(run.ended_at!));
    expect(root!.attributes['flowrunner.run.status']).toBe('completed');

    // Every span that names the run or its child is in the run's trace; so is every span under them.
    const inRun = spans().filter((s) => s.spanContext().traceId === trace.trace_id);
    for (const span of spans()) {
      const named = span.attributes['flowrunner.run.id'];
      if (typeof named === 'string' && span.kind !== 1)
        expect(span.spanContext().traceId, span.name).toBe(trace.trace_id);
    }
    const names = new Set(inRun.map((s) => s.name));
    for (const name of [
      'run trace-parent',
      'run trace-child',
      'run.start',
      'advance',
      'await_signal',
      'signal.deliver',
      'step form',
      'wait form',
      'step api_call',
      'step workflow',
      'wait child',
      'step ai_generate',
    ]) {
      expect(names, name).toContain(name);
    }
    // Advance ran in both runtimes: before the restart (up to the form) and after it.
    expect(
      inRun.filter((s) => s.name === 'advance' && s.attributes['flowrunner.run.id'] === runId).length,
    ).toBeGreaterThanOrEqual(2);
    // Every span of the run's trace hangs from a span of the same trace (nothing dangles).
    const ids = new Set(inRun.map((s) => s.spanContext().spanId));
    for (const span of inRun) {
      if (span === root) continue;
      expect(ids.has(span.parentSpanContext!.spanId), `${span.name} has its parent in the trace`).toBe(true);
    }
  });

  it('hangs the child run under the parent step, with the gen_ai attributes on its model call', () => {
    const [step] = named('step workflow');
    const [childRoot] = named('run trace-child');
    expect(childRoot!.parentSpanContext?.spanId).toBe(step!.spanContext().spanId);
    const chat = spans().find((s) => s.name.startsWith('chat '))!;
    expect(chat.spanContext().traceId).toBe(step!.spanContext().traceId);
    expect(chat.attributes).toMatchObject({
      'gen_ai.system': 'mock',
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': expect.any(String),
      'gen_ai.usage.input_tokens': expect.any(Number),
      'gen_ai.usage.output_tokens': expect.any(Number),
    });
    const ai = named('step ai_generate')[0]!;
    expect(chat.parentSpanContext?.spanId).toBe(ai.spanContext().spanId);
    expect(ai.attributes).toMatchObject({
      'flowrunner.step.id': 'greet',
      'flowrunner.step.type': 'ai_generate',
      'flowrunner.step.attempt': 1,
      'flowrunner.step.result': 'completed',
      'flowrunner.step.outcome': 'success',
    });
  });

  it('links the start and the resume to the HTTP requests, which continue the callers traces', () => {
    const [startRequest] = named('POST /v1/executions');
    const [resumeRequest] = named('POST /v1/executions/{id}/resume');
    expect(startRequest!.spanContext().traceId).toBe(REQUEST_TRACE.start);
    expect(startRequest!.attributes['http.response.status_code']).toBe(202);
    expect(resumeRequest!.spanContext().traceId).toBe(REQUEST_TRACE.resume);
    const [started] = named('run.start').filter((s) => s.attributes['flowrunner.run.id'] === runId);
    expect(started!.links.map((l) => l.context.spanId)).toEqual([startRequest!.spanContext().spanId]);
    const delivery = named('signal.deliver').find(
      (s) => s.attributes['flowrunner.signal.type'] === 'resume',
    )!;
    expect(delivery.links.map((l) => l.context)).toMatchObject([
      { traceId: REQUEST_TRACE.resume, spanId: resumeRequest!.spanContext().spanId },
    ]);
    const wait = named('wait form')[0]!;
    expect(wait.attributes).toMatchObject({
      'flowrunner.wait.kind': 'form',
      'flowrunner.signal.type': 'resume',
    });
    // The wait lasted from the form's start to the resume: across the restart.
    expect(ms(wait.endTime)).toBeGreaterThanOrEqual(ms(delivery.startTime));
  });

  it('puts the run trace id on the Advance lines and the request trace id on the request lines', async () => {
    const run = await storedRun(runId);
    const parsed = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const advances = parsed.filter((l) => l.message === 'advance' && l.run_id === runId);
    expect(advances.length).toBeGreaterThanOrEqual(2);
    for (const line of advances) expect(line.trace_id).toBe(run.trace!.trace_id);
    const resumeLine = parsed.find((l) => l.message === 'request' && String(l.path).endsWith('/resume'))!;
    expect(resumeLine.trace_id).toBe(REQUEST_TRACE.resume);
  });

  it('has no secret, key or token in any span or log line, and nothing the redaction would take out', () => {
    const secrets = new Redactor();
    secrets.add(SECRET);
    secrets.add(API_KEY);
    secrets.add(callbackToken);
    // Plain JSON: spans share their resource object, which the redaction would take for a cycle.
    const captured = JSON.parse(
      JSON.stringify(
        spans().map((s) => ({
          name: s.name,
          attributes: s.attributes,
          status: s.status,
          events: s.events,
          links: s.links.map((l) => l.attributes ?? {}),
          resource: s.resource.attributes,
        })),
      ),
    );
    const text = JSON.stringify(captured);
    expect(sink.requests.find((r) => r.path === '/notify')!.headers.authorization).toBe(`Bearer ${SECRET}`);
    for (const forbidden of [SECRET, API_KEY, callbackToken, 'Ada Lovelace']) {
      expect(text).not.toContain(forbidden);
      for (const line of logLines) expect(line).not.toContain(forbidden);
    }
    expect(redactValue(captured, secrets)).toEqual(captured);
  });

  it('counts the run in /metrics, behind the API key', () => {
    expect(metricsWithoutKey).toBe(401);
    const exposition = parsePrometheus(metricsText);
    // The runtime after the restart saw the child start and both runs end.
    expect(exposition.value('flowrunner_runs_started_total')).toBe(1);
    expect(exposition.value('flowrunner_runs_ended_total', { status: 'completed' })).toBe(2);
    expect(exposition.value('flowrunner_answer_time_s_count', { wait_kind: 'form' })).toBe(1);
    expect(exposition.value('flowrunner_signal_delivery_latency_ms_count', { signal_type: 'resume' })).toBe(
      1,
    );
    expect(
      exposition.value('flowrunner_step_duration_ms_count', { step_type: 'api_call', result: 'completed' }),
    ).toBe(1);
    expect(
      exposition.value('flowrunner_ai_tokens_input_total', { model: expect.any(String) as never }),
    ).toBeUndefined();
    const tokens = exposition.samples.filter((s) => s.name === 'flowrunner_ai_tokens_output_total');
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.value).toBeGreaterThan(0);
  });
});
