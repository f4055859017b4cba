import { describe, expect, it } from 'vitest';
import { MAX_INLINE_ARTIFACT_BYTES } from '../../../functions/api/routes/artifacts.js';
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

  it('serves a file up to 4 MiB in the answer, in base64, and redirects to a presigned URL for a larger one', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    const limit = MAX_INLINE_ARTIFACT_BYTES;
    await t.stores.artifacts.put(runId, 'at-limit.bin', new Uint8Array(limit).fill(7));
    await t.stores.artifacts.put(runId, 'beyond.txt', 'x'.repeat(limit + 1), 'text/plain');

    const inline = await t.call('GET', `/v1/executions/${runId}/artifacts/at-limit.bin`);
    expect(inline.status).toBe(200);
    expect(inline.raw.isBase64Encoded).toBe(true);
    expect(Buffer.from(inline.raw.body!, 'base64').equals(Buffer.alloc(limit, 7))).toBe(true);
    // A Lambda answer is at most 6 MB: the largest inline file fits, with room for the headers.
    expect(JSON.stringify(inline.raw).length).toBeLessThan(6 * 1024 * 1024 - 64 * 1024);

    const redirect = await t.call('GET', `/v1/executions/${runId}/artifacts/beyond.txt`);
    expect(redirect.status).toBe(307);
    expect(redirect.headers.location).toMatch(
      /^memory:\/\/artifacts\/runs\/.+\/artifacts\/beyond\.txt\?expires=/,
    );
    expect(redirect.headers['cache-control']).toBe('private, no-store');
    expect(redirect.raw.body).toBe('');
  });

  it('serves text in base64 too: quotes and control characters do not grow the answer past its bound', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    // JSON writes each of these as six characters: as text, 4 MiB of them was a 24 MB answer.
    await t.stores.artifacts.put(
      runId,
      'controls.txt',
      '\u0001'.repeat(MAX_INLINE_ARTIFACT_BYTES),
      'text/plain',
    );
    const read = await t.call('GET', `/v1/executions/${runId}/artifacts/controls.txt`);
    expect(read.status).toBe(200);
    expect(JSON.stringify(read.raw).length).toBeLessThan(6 * 1024 * 1024);
  });
});
