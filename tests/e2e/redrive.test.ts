/** Redrive and rerun over HTTP against the local server (CONTRACT §9): the same engine path as the cloud. */
import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { listenOnLoopback, startServerInProcess, useServer } from '../support/server-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** A dependency that is down (503) until the test fixes it; it counts calls per idempotency key. */
let fixed = false;
const calls = new Map<string, number>();
const dependency = createServer((request, response) => {
  const key = String(request.headers['idempotency-key']);
  calls.set(key, (calls.get(key) ?? 0) + 1);
  response.writeHead(fixed ? 200 : 503, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ ok: fixed }));
});
let dependencyUrl = '';
beforeAll(async () => {
  dependencyUrl = await listenOnLoopback(dependency);
});
afterAll(() => new Promise<void>((resolve) => dependency.close(() => resolve())));

const server = useServer(() =>
  startServerInProcess({ FLOWRUNNER_API_KEYS: '', LOG_LEVEL: 'SILENT' }, { examplesDir: undefined }),
);
const { call, until } = apiClient(() => server.url);

const workflow = (id: string, compensate = false) => `schema_version: "1.0"
id: ${id}
inputs:
  type: object
  properties: { order: { type: string } }
steps:
  - id: reserve
    type: transform
    config: { output: "reserved {{ inputs.order }}" }
    next: charge
${compensate ? '    compensate: { type: transform, config: { output: released } }\n' : ''}  - id: charge
    type: api_call
    config: { method: POST, url: "${dependencyUrl}/charge", body: { order: "{{ inputs.order }}" } }
    next: done
  - id: done
    type: transform
    config: { output: "{{ steps.reserve.output }} and charged" }
`;

async function failedRun(workflowId: string, order: string): Promise<string> {
  const started = await call('POST', '/v1/executions', { workflow_id: workflowId, inputs: { order } });
  expect(started.status).toBe(202);
  const run = await until(started.body.id as string, (r) => r.status === 'failed');
  return run.id as string;
}

describe('redrive and rerun over HTTP', () => {
  beforeAll(async () => {
    fixed = false;
    expect((await call('POST', '/v1/workflows', workflow('checkout'))).status).toBe(201);
    expect((await call('POST', '/v1/workflows', workflow('compensated', true))).status).toBe(201);
  });

  it('redrives a failed run from its failed step once the cause is fixed; concurrent redrives: one wins', async () => {
    fixed = false;
    const id = await failedRun('checkout', 'o-1');
    const key = `${id}:charge:1`;
    expect(calls.get(key)).toBe(1);

    fixed = true;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => call('POST', `/v1/executions/${id}/redrive`, { by: 'ops' })),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(answers.find((a) => a.status === 202)!.body).toEqual({ run_id: id, redrive: 1, accepted: true });

    const run = await until(id, (r) => r.status === 'completed');
    expect(run.output).toBe('reserved o-1 and charged');
    expect(run.redrives).toBe(1);
    // The failed visit's call is not repeated under its key: the redriven visit has its own.
    expect(calls.get(key)).toBe(1);
    expect(calls.get(`${id}:charge:2`)).toBe(1);
    const events = (await call('GET', `/v1/executions/${id}/events?limit=1000`)).body
      .events as unknown as Array<{
      type: string;
      seq: number;
      step_id?: string;
      data: Record<string, unknown>;
    }>;
    expect(events.filter((e) => e.type === 'run.redriven')).toHaveLength(1);
    expect(events.find((e) => e.type === 'run.redriven')!.data).toEqual({
      redrive: 1,
      steps: ['charge'],
      by: 'ops',
    });
    expect(events.filter((e) => e.type === 'step.started' && e.step_id === 'reserve')).toHaveLength(1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

    const again = await call('POST', `/v1/executions/${id}/redrive`, {});
    expect(again.status).toBe(409);
    expect(again.body.detail).toMatch(/completed run cannot be redriven/);
  });

  it('refuses to redrive a compensated run (409, nothing changes) and reruns it instead', async () => {
    fixed = false;
    const id = await failedRun('compensated', 'o-2');
    const before = (await call('GET', `/v1/executions/${id}`)).body;
    expect(before.compensated).toBe(true);
    const refused = await call('POST', `/v1/executions/${id}/redrive`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/rerun it instead/);
    expect((await call('GET', `/v1/executions/${id}`)).body).toEqual(before);

    fixed = true;
    const rerun = await call('POST', `/v1/executions/${id}/rerun`, {});
    expect(rerun.status).toBe(202);
    expect(rerun.body.rerun_of).toBe(id);
    expect(rerun.body.id).not.toBe(id);
    const done = await until(rerun.body.id as string, (r) => r.status === 'completed');
    expect(done.output).toBe('reserved o-2 and charged');
    expect(done.rerun_of).toBe(id);

    const withInputs = await call('POST', `/v1/executions/${id}/rerun`, { inputs: { order: 'o-3' } });
    expect(withInputs.status).toBe(202);
    expect((await until(withInputs.body.id as string, (r) => r.status === 'completed')).output).toBe(
      'reserved o-3 and charged',
    );
  });

  it('answers a rerun with an Idempotency-Key once, and checks its inputs and version', async () => {
    fixed = true;
    const started = await call('POST', '/v1/executions', {
      workflow_id: 'checkout',
      inputs: { order: 'o-4' },
    });
    const id = started.body.id as string;
    await until(id, (r) => r.status === 'completed');
    const headers = { 'idempotency-key': 'rerun-o-4' };
    const first = await call('POST', `/v1/executions/${id}/rerun`, {}, headers);
    const second = await call('POST', `/v1/executions/${id}/rerun`, {}, headers);
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);

    const badInputs = await call('POST', `/v1/executions/${id}/rerun`, { inputs: { order: 5 } });
    expect(badInputs.status).toBe(422);
    expect((await call('POST', `/v1/executions/${id}/rerun`, { version: 9 })).status).toBe(404);
    expect((await call('POST', `/v1/executions/${id}/rerun`, { surprise: true })).status).toBe(422);
    expect((await call('POST', '/v1/executions/run_unknown/rerun', {})).status).toBe(404);
    expect((await call('POST', '/v1/executions/run_unknown/redrive', {})).status).toBe(404);
  });

  it('refuses to redrive a run that is still going (409)', async () => {
    fixed = true;
    const waiting = `schema_version: "1.0"
id: waits
steps:
  - { id: ask, type: form, config: { fields: [{ key: x }] } }
`;
    expect((await call('POST', '/v1/workflows', waiting)).status).toBe(201);
    const started = await call('POST', '/v1/executions', { workflow_id: 'waits' });
    await until(started.body.id as string, (r) => r.status === 'waiting');
    const refused = await call('POST', `/v1/executions/${started.body.id}/redrive`, {});
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/waiting run cannot be redriven/);
  });
});
