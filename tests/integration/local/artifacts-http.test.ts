/**
 * Reading a run's files over HTTP from the local server, whose artifacts live on its local S3 as
 * they live in a bucket in the cloud: a small file is the answer, a large one is a redirect to a
 * presigned URL that any HTTP client follows, so the API never holds it whole (a 300 MB file was
 * read into memory twice, as bytes and as base64, and failed after 30 s).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_INLINE_ARTIFACT_BYTES } from '../../../functions/api/routes/artifacts.js';
import { apiClient } from '../../support/api-client.js';
import { startServerInProcess, useServer } from '../../support/server-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.LOG_LEVEL = 'WARN';

const server = useServer(() => startServerInProcess({}, { examplesDir: undefined }));
const api = apiClient(() => server.url);

const WAITING = `schema_version: "1.0"
id: files
steps:
  - id: ask
    type: form
    config: { fields: [{ key: ok, type: boolean }] }
`;

async function waitingRun(): Promise<string> {
  const created = await api.call('POST', '/v1/workflows', WAITING);
  expect([201, 409]).toContain(created.status);
  const started = await api.call('POST', '/v1/executions', { workflow_id: 'files' });
  expect(started.status).toBe(202);
  return started.body.id as string;
}

describe('GET /v1/executions/{id}/artifacts/{name} on the local server', () => {
  it('answers a small file itself, with its type, as a download', async () => {
    const runId = await waitingRun();
    await server.current.server.runtime.local.stores.artifacts.put(
      runId,
      'a.csv',
      'a,b\n"1",2\n',
      'text/csv',
    );

    const answer = await fetch(`${server.url}/v1/executions/${runId}/artifacts/a.csv`);

    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/csv');
    expect(answer.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''a.csv");
    expect(await answer.text()).toBe('a,b\n"1",2\n');
  });

  it('redirects to a presigned URL of the local S3 for a file over 4 MiB, which serves every byte', async () => {
    const runId = await waitingRun();
    const bytes = randomBytes(MAX_INLINE_ARTIFACT_BYTES + 1);
    await server.current.server.runtime.local.stores.artifacts.put(
      runId,
      'big.bin',
      bytes,
      'application/octet-stream',
    );
    const path = `/v1/executions/${runId}/artifacts/big.bin`;

    const redirect = await fetch(`${server.url}${path}`, { redirect: 'manual' });
    expect(redirect.status).toBe(307);
    const location = redirect.headers.get('location')!;
    expect(new URL(location).hostname).toBe('127.0.0.1');
    expect(new URL(location).searchParams.get('X-Amz-Expires')).toBe('300');
    expect(Number(redirect.headers.get('content-length') ?? '0')).toBe(0);

    // What a client that follows redirects (fetch, curl -L) receives.
    const followed = await fetch(`${server.url}${path}`);
    expect(followed.status).toBe(200);
    // A download on the bucket's origin too: an HTML file must not render as a page there.
    expect(followed.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''big.bin");
    expect(Buffer.from(await followed.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('still answers 404 for a file that is not there, and for a run that is not', async () => {
    const runId = await waitingRun();
    expect((await fetch(`${server.url}/v1/executions/${runId}/artifacts/none.bin`)).status).toBe(404);
    expect((await fetch(`${server.url}/v1/executions/run_nope/artifacts/none.bin`)).status).toBe(404);
  });
});
