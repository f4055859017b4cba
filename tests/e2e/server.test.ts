/** `npm start` as a user runs it: the server process, real HTTP, a run to the end, its live event stream, SIGTERM. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_EVENT_STREAMS } from '../../infra/local/server.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

let server: ServerProcess;
let url: string;

beforeAll(async () => {
  server = await startServerProcess();
  url = server.url;
}, 60_000);

afterAll(async () => {
  await server.stop();
});

async function json(path: string, init?: RequestInit) {
  const response = await fetch(`${url}${path}`, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('npm start', () => {
  it('answers /healthz and has loaded the examples', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const { status, body } = await json('/v1/workflows/order-checks');
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: 'order-checks' });
  });

  it('runs a workflow started over HTTP to the end, and streams its events live', async () => {
    const started = await json('/v1/executions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow_id: 'order-checks', inputs: { order_id: 'o-9', amount: 2500 } }),
    });
    expect(started.status).toBe(202);
    const id = started.body.id as string;

    const stream = await fetch(`${url}/v1/executions/${id}/events`, {
      headers: { accept: 'text/event-stream' },
    });
    expect(stream.headers.get('content-type')).toBe('text/event-stream');
    const text = await stream.text(); // the stream ends when the run has ended
    const types = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
    expect(types[0]).toBe('run.created');
    expect(types.at(-1)).toBe('run.completed');

    const run = await json(`/v1/executions/${id}`);
    expect(run.body).toMatchObject({
      status: 'completed',
      output: { order_id: 'o-9', accepted: true, fraud_checked: true },
    });
  });

  it('answers bad input with Problem Details, never a 500', async () => {
    const malformed = await fetch(`${url}/v1/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"workflow_id": ',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toContain('application/problem+json');
    expect((await json('/v1/executions/run_nope')).status).toBe(404);
    const big = await fetch(`${url}/v1/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `"${'x'.repeat(1024 * 1024 + 10)}"`,
    });
    expect(big.status).toBe(413);
    // The API's one 413, whoever refuses the body; and the connection serves the next request.
    expect(await big.json()).toMatchObject({ title: 'Content Too Large', status: 413 });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('refuses what a web page could send: JSON as text/plain, writes from another origin', async () => {
    const body = JSON.stringify({ workflow_id: 'order-checks', inputs: { order_id: 'o-x', amount: 1 } });
    const plain = await fetch(`${url}/v1/executions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body,
    });
    expect(plain.status).toBe(415);
    const foreign = await fetch(`${url}/v1/executions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it(`keeps at most ${MAX_EVENT_STREAMS} event streams open: the next gets 503 until one closes`, async () => {
    const started = await json('/v1/executions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow_id: 'onboarding', inputs: { customer: 'Ada' } }),
    });
    const events = `${url}/v1/executions/${started.body.id as string}/events`;
    const open = async () => {
      const controller = new AbortController();
      const response = await fetch(events, {
        headers: { accept: 'text/event-stream' },
        signal: controller.signal,
      });
      return { response, close: () => controller.abort() };
    };
    // The run waits for a person: its streams stay open.
    const streams = [];
    for (let i = 0; i < MAX_EVENT_STREAMS; i++) streams.push(await open());
    try {
      expect(streams.map(({ response }) => response.status)).toEqual(streams.map(() => 200));
      const refused = await open();
      expect(refused.response.status).toBe(503);
      expect(refused.response.headers.get('retry-after')).toBe('5');
      expect(await refused.response.json()).toMatchObject({
        status: 503,
        detail: expect.stringContaining('event streams'),
      });
      // The events can still be read page by page.
      expect((await fetch(events)).status).toBe(200);
      streams.pop()!.close();
      // Once the server has seen the client leave, a stream is taken again.
      await expect
        .poll(
          async () => {
            const again = await open();
            again.close();
            return again.response.status;
          },
          { timeout: 10_000, interval: 100 },
        )
        .toBe(200);
    } finally {
      for (const stream of streams) stream.close();
    }
  });

  it('stops on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) =>
      server.child.once('exit', (code) => resolve(code)),
    );
    server.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
