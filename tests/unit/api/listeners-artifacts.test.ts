import { describe, expect, it } from 'vitest';
import { setUp } from './support.js';

describe('api /v1/listeners and /v1/hooks', () => {
  it('creates, lists and deletes listeners; a webhook starts its workflow', async () => {
    const t = await setUp();
    await t.startWaiting();
    const created = await t.call('POST', '/v1/listeners', {
      body: { id: 'signup', type: 'webhook', workflow_id: 'onboarding' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'signup', type: 'webhook', match: {} });
    expect((await t.call('GET', '/v1/listeners')).body.items).toHaveLength(1);
    expect(
      (await t.call('POST', '/v1/listeners', { body: { type: 'carrier-pigeon', workflow_id: 'x' } })).status,
    ).toBe(422);
    expect(
      (await t.call('POST', '/v1/listeners', { body: { type: 'webhook', workflow_id: 'unknown' } })).status,
    ).toBe(404);

    const run = await t.call('POST', '/v1/hooks/signup', { body: { customer: 'Hook' } });
    expect(run.status).toBe(202);
    expect(run.body.workflow_id).toBe('onboarding');
    expect((await t.call('POST', '/v1/hooks/signup', { body: {} })).status).toBe(422);
    expect((await t.call('POST', '/v1/hooks/nope', { body: {} })).status).toBe(404);

    expect((await t.call('DELETE', '/v1/listeners/signup')).status).toBe(204);
    expect((await t.call('DELETE', '/v1/listeners/signup')).status).toBe(404);
  });
});

describe('api /v1/executions/{id}/artifacts', () => {
  it('lists and reads the files of a run', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    await t.stores.artifacts.put(runId, 'report.json', '{"ok":true}', 'application/json');
    const list = await t.call('GET', `/v1/executions/${runId}/artifacts`);
    expect(list.status).toBe(200);
    expect(list.body.items).toMatchObject([{ name: 'report.json', content_type: 'application/json' }]);
    const read = await t.call('GET', `/v1/executions/${runId}/artifacts/report.json`);
    expect(read).toMatchObject({ status: 200, body: { ok: true } });
    expect((await t.call('GET', `/v1/executions/${runId}/artifacts/missing.txt`)).status).toBe(404);
    expect((await t.call('GET', '/v1/executions/nope/artifacts')).status).toBe(404);
  });
});
