import { describe, expect, it } from 'vitest';
import { setUp } from './support.js';

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
