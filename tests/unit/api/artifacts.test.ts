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

  it('serves an artifact as a download that no browser renders as a page: an uploaded HTML file runs no script', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    await t.stores.artifacts.put(
      runId,
      'evil page.html',
      '<script>alert(document.domain)</script>',
      'text/html',
    );
    const read = await t.call(
      'GET',
      `/v1/executions/${runId}/artifacts/${encodeURIComponent('evil page.html')}`,
    );
    expect(read.status).toBe(200);
    expect(read.headers).toMatchObject({
      'content-type': 'text/html',
      'content-disposition': "attachment; filename*=UTF-8''evil%20page.html",
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
    });
  });
});
