/**
 * Flows over real HTTP against the server process started as `npm start` starts it: two waits
 * answered at the same moment, pause and unpause, idempotent starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

let server: ServerProcess;
let url: string;

beforeAll(async () => {
  server = await startServerProcess();
  url = server.url;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

type Json = Record<string, unknown>;

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as Json };
}

interface Run {
  id: string;
  status: string;
  waiting: Array<{ step_id: string; type: string }>;
  output?: unknown;
}

async function until(id: string, done: (run: Run) => boolean): Promise<Run> {
  let run: Run | undefined;
  for (let i = 0; i < 150; i++) {
    run = (await call('GET', `/v1/executions/${id}`)).body as unknown as Run;
    if (done(run)) return run;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`run ${id} never got there: ${JSON.stringify(run)}`);
}

const TWO_FORMS = `schema_version: "1.0"
id: two-forms
inputs: { type: object }
output: "{{ steps.join.output }}"
steps:
  - id: begin
    type: transform
    config: { output: { ok: true } }
    next: [left, right]
  - id: left
    type: form
    config:
      fields: [{ key: x, type: string, required: true }]
    next: join
  - id: right
    type: form
    config:
      fields: [{ key: y, type: number, required: true }]
    next: join
  - id: join
    type: transform
    config:
      output: { x: "{{ steps.left.output.x }}", y: "{{ steps.right.output.y }}" }
`;

describe('flows over HTTP', () => {
  it('applies two answers sent at the same moment to two waits in parallel branches', async () => {
    const created = await fetch(`${url}/v1/workflows`, {
      method: 'POST',
      headers: { 'content-type': 'text/yaml' },
      body: TWO_FORMS,
    });
    expect(created.status).toBe(201);
    const started = await call('POST', '/v1/executions', { workflow_id: 'two-forms', inputs: {} });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    const waiting = await until(id, (r) => r.waiting.length === 2);
    expect(waiting.waiting.map((w) => w.step_id).sort()).toEqual(['left', 'right']);

    // Without step_id the API cannot tell which wait is meant.
    expect((await call('POST', `/v1/executions/${id}/resume`, { inputs: { x: 'a' } })).status).toBe(409);

    const [left, right] = await Promise.all([
      call('POST', `/v1/executions/${id}/resume`, { step_id: 'left', inputs: { x: 'hello' } }),
      call('POST', `/v1/executions/${id}/resume`, { step_id: 'right', inputs: { y: 42 } }),
    ]);
    expect([left.status, right.status]).toEqual([202, 202]);
    const done = await until(id, (r) => r.status === 'completed' || r.status === 'failed');
    expect(done).toMatchObject({ status: 'completed', output: { x: 'hello', y: 42 } });
  }, 60_000);

  it('pauses and unpauses a run', async () => {
    const started = await call('POST', '/v1/executions', {
      workflow_id: 'review-loop',
      inputs: { topic: 'pausing' },
    });
    const id = started.body.id as string;
    await until(id, (r) => r.status === 'waiting');

    expect((await call('POST', `/v1/executions/${id}/pause`, {})).status).toBe(202);
    await until(id, (r) => r.status === 'paused');
    expect((await call('POST', `/v1/executions/${id}/pause`, {})).status).toBe(409);

    expect((await call('POST', `/v1/executions/${id}/unpause`, {})).status).toBe(202);
    await until(id, (r) => r.status === 'waiting');
    expect((await call('POST', `/v1/executions/${id}/unpause`, {})).status).toBe(409);

    const approved = await call('POST', `/v1/executions/${id}/resume`, {
      decision: 'approve',
      approver: 'editor@example.com',
    });
    expect(approved.status).toBe(202);
    expect(await until(id, (r) => r.status === 'completed')).toMatchObject({ output: { drafts: 1 } });
  }, 60_000);

  it('starts once per Idempotency-Key and body; another body with the key is a 409', async () => {
    const body = { workflow_id: 'order-checks', inputs: { order_id: 'o-idem', amount: 3 } };
    const key = { 'idempotency-key': `key-${Date.now()}` };
    const first = await call('POST', '/v1/executions', body, key);
    expect(first.status).toBe(202);
    const again = await call('POST', '/v1/executions', body, key);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const other = await call(
      'POST',
      '/v1/executions',
      { ...body, inputs: { order_id: 'o-other', amount: 3 } },
      key,
    );
    expect(other.status).toBe(409);
    expect(other.body).toMatchObject({ status: 409, detail: expect.any(String) });
    const runs = await call('GET', '/v1/executions?workflow_id=order-checks');
    const ids = (runs.body.items as Array<{ id: string }>).map((r) => r.id);
    expect(ids.filter((i) => i === first.body.id)).toHaveLength(1);
  }, 60_000);
});
