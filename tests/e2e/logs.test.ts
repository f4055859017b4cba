/**
 * The logs and traces of `npm start` as a user runs it, with a secret and an API key configured and
 * spans exported over OTLP/HTTP (json) to a collector in the test: after the start-up lines every
 * stdout line is JSON with the documented fields and its trace id, the collector receives the run's
 * trace, and neither shows the secret, the key or a callback token (CONTRACT §10).
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { type HttpSink, startHttpSink } from '../support/http-sink.js';
import { type OtlpCollector, startOtlpCollector } from '../support/otlp-collector.js';
import { pollUntil } from '../support/poll.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const SECRET = 'mail-token-logs-5c2e88';
const API_KEY = 'fr-key-logs-0d9b41aa';
let server: ServerProcess;
let sink: HttpSink;
let collector: OtlpCollector;
let out = '';

beforeAll(async () => {
  sink = await startHttpSink();
  collector = await startOtlpCollector();
  server = await startServerProcess({
    FLOWRUNNER_SECRET_MAIL_TOKEN: SECRET,
    // A key without a principal: it is shown the wait's shared token, which answers as the approver named.
    FLOWRUNNER_API_KEYS: API_KEY,
    LOG_LEVEL: 'INFO',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });
  server.child.stdout!.on('data', (text: string) => {
    out += text;
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await sink?.close();
  await collector?.close();
});

const { call, until } = apiClient(
  () => server.url,
  (path): Record<string, string> =>
    path.startsWith('/v1/callbacks/') ? {} : { authorization: `Bearer ${API_KEY}` },
);

describe('the logs of npm start', () => {
  it('are redacted JSON lines with the run fields', async () => {
    const yaml = readFileSync('examples/onboarding.yaml', 'utf8')
      .replace('id: onboarding', 'id: onboarding-logs')
      .replace('https://mail.example.com', sink.url);
    expect((await call('POST', '/v1/workflows', yaml)).status).toBe(201);
    const started = await call('POST', '/v1/executions', {
      workflow_id: 'onboarding-logs',
      inputs: { customer: 'Ada' },
    });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    await until(id, (r) => r.waiting.some((w) => w.step_id === 'collect'));
    expect(
      (
        await call('POST', `/v1/executions/${id}/resume`, {
          inputs: { email: 'ada@example.com', plan: 'pro' },
        })
      ).status,
    ).toBe(202);
    const atReview = await until(id, (r) => r.waiting.some((w) => w.step_id === 'review'));
    const token = atReview.waiting.find((w) => w.step_id === 'review')!.callback_token as string;
    expect(
      (await call('POST', `/v1/callbacks/${token}`, { decision: 'approve', approver: 'lead@example.com' }))
        .status,
    ).toBe(202);
    await until(id, (r) => r.status === 'completed');
    expect(sink.requests.filter((r) => r.path === '/v1/send')[0]!.headers.authorization).toBe(
      `Bearer ${SECRET}`,
    );
    await new Promise((r) => setTimeout(r, 200)); // the last lines reach the pipe

    const lines = out.split('\n').filter((line) => line.trim() !== '');
    const parsed = lines.map((line) => {
      expect(() => JSON.parse(line), line).not.toThrow();
      return JSON.parse(line) as Record<string, unknown>;
    });
    for (const line of lines) {
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain(API_KEY);
      expect(line).not.toContain(token);
      expect(line).not.toContain('ada@example.com');
    }
    for (const entry of parsed) {
      expect(entry).toMatchObject({
        level: expect.any(String),
        message: expect.any(String),
        timestamp: expect.any(String),
      });
    }

    const requests = parsed.filter((entry) => entry.message === 'request');
    expect(requests.length).toBeGreaterThan(5);
    for (const request of requests) {
      expect(request).toMatchObject({
        method: expect.any(String),
        path: expect.any(String),
        status: expect.any(Number),
      });
      expect(request.latency_ms).toEqual(expect.any(Number));
    }
    expect(requests).toContainEqual(
      expect.objectContaining({ method: 'GET', path: `/v1/executions/${id}`, run_id: id, status: 200 }),
    );
    expect(requests).toContainEqual(
      expect.objectContaining({ method: 'POST', path: '/v1/callbacks/[REDACTED]', status: 202 }),
    );

    const advances = parsed.filter((entry) => entry.message === 'advance' && entry.run_id === id);
    expect(advances.length).toBeGreaterThanOrEqual(3);
    for (const advance of advances) {
      expect(advance).toMatchObject({
        workflow_id: 'onboarding-logs',
        workflow_version: 1,
        directive: expect.any(String),
        transitions: expect.any(Number),
        duration_ms: expect.any(Number),
      });
    }
    expect(advances.map((a) => a.directive)).toContain('done');

    // Every Advance line names the run's one trace; the request lines name their requests' traces.
    const traceId = advances[0]!.trace_id as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const advance of advances) expect(advance.trace_id).toBe(traceId);
    for (const request of requests) expect(request.trace_id).toMatch(/^[0-9a-f]{32}$/);

    // The collector receives the run's trace, root span included, with nothing secret in it.
    const spans = await pollUntil(
      async () => collector.jsonSpans().filter((span) => span.traceId === traceId),
      (found) => found.some((span) => span.name === 'run onboarding-logs'),
      (found) => `spans of the run: ${found.map((span) => span.name).join(', ')}`,
    );
    const names = new Set(spans.map((span) => span.name));
    for (const name of [
      'run.start',
      'advance',
      'await_signal',
      'signal.deliver',
      'wait form',
      'wait approval',
    ]) {
      expect(names, name).toContain(name);
    }
    expect(spans.find((span) => span.name === 'run onboarding-logs')!.parentSpanId).toBeUndefined();
    const exported = collector.requests.map((r) => r.body.toString('utf8')).join('\n');
    for (const forbidden of [SECRET, API_KEY, token, 'ada@example.com'])
      expect(exported).not.toContain(forbidden);
  }, 60_000);

  it('tell of a client that leaves in the middle of its body in one JSON line, its token redacted, and nothing on stderr', async () => {
    let err = '';
    server.child.stderr!.on('data', (text: string) => {
      err += text;
    });
    const token = 'fr-callback-abandoned-7d1e0c';
    const { hostname: host, port } = new URL(server.url);
    // Half of the body it announced, then the connection closes.
    await new Promise<void>((resolve, reject) => {
      const socket = connect(Number(port), host, () => {
        socket.write(
          `POST /v1/callbacks/${token} HTTP/1.1\r\nHost: ${host}:${port}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"payload":`,
          () => setTimeout(() => socket.destroy(), 100),
        );
      });
      socket.once('close', () => resolve());
      socket.once('error', reject);
    });
    const line = await pollUntil(
      async () =>
        out
          .split('\n')
          .filter((text) => text.includes('request abandoned'))
          .map((text) => JSON.parse(text) as Record<string, unknown>)[0],
      (found) => found !== undefined,
      () => `stdout: ${out.slice(-2000)}`,
    );
    expect(line).toMatchObject({ level: 'INFO', method: 'POST', path: '/v1/callbacks/[REDACTED]' });
    expect(String(line!.reason)).not.toBe('');
    expect(out).not.toContain(token);
    expect(err).not.toContain('flowrunner: Error');
  }, 60_000);
});
