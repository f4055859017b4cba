/**
 * `npm start`'s S3 endpoint, as a user meets it: the server (the built dist/, as npm start runs it)
 * serves S3 on FLOWRUNNER_S3_PORT and says so at start; a put there with the AWS SDK starts the run
 * of the bucket's s3 listener.
 */
import { createServer } from 'node:net';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { Listener } from '../../shared/ports/index.js';
import { apiClient } from '../support/api-client.js';
import { pollUntil } from '../support/poll.js';
import { startServerProcess, useServer } from '../support/server-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** A port free a moment ago (the server takes it right after). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

let s3Port = 0;
const server = useServer(async () => {
  s3Port = await freePort();
  return startServerProcess({ FLOWRUNNER_S3_PORT: String(s3Port) });
});
const api = apiClient(() => server.url);

describe('npm start and S3 listeners', () => {
  it('serves S3 on FLOWRUNNER_S3_PORT, and a put there starts the listener’s run', async () => {
    expect(
      (
        await api.call('POST', '/v1/listeners', {
          id: 'uploads',
          type: 's3',
          workflow_id: 'upload-intake',
          match: { bucket: 'inbox', prefix: 'incoming/' },
        })
      ).status,
    ).toBe(201);
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${s3Port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'whatever', secretAccessKey: 'whatever' },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'inbox' }));
      await s3.send(
        new PutObjectCommand({ Bucket: 'inbox', Key: 'incoming/a.json', Body: '{"lines":[{"amount":4}]}' }),
      );
    } finally {
      s3.destroy();
    }
    const listener = await pollUntil(
      async () => (await api.call('GET', '/v1/listeners/uploads')).body as unknown as Listener,
      (l) => l.fired === 1,
      (l) => JSON.stringify(l),
    );
    const run = await api.until(listener.last_run_id!, (r) => r.status !== 'queued');
    expect(run).toMatchObject({
      workflow_id: 'upload-intake',
      trigger: { listener_id: 'uploads', type: 's3' },
    });
    const artifact = await fetch(`${server.url}/v1/executions/${run.id}/artifacts/a.json`);
    expect(await artifact.json()).toEqual({ lines: [{ amount: 4 }] });
  });
});
