/**
 * Triggers end to end on the local server, over HTTP and the real S3 client (CONTRACT §6): a put to
 * the local S3 endpoint starts a run that reads the object; POST /v1/events fires only the matching
 * listeners, once per event id however often it comes; a bad webhook signature is 401 and stores
 * nothing; an at() schedule fires once, across a restart before it is due and after one past it.
 */
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from '../../../infra/local/server.js';
import type { Listener } from '../../../shared/ports/index.js';
import { apiClient } from '../../support/api-client.js';
import { BIG_ORDERS_LISTENER } from '../../support/order-listeners.js';
import { pollUntil } from '../../support/poll.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const SECRET = 'local-hook-secret';
let dataDir: string;
let server: LocalServer;
const api = apiClient(() => server.url);

async function start(): Promise<LocalServer> {
  return startLocalServer({ dataDir, port: 0, env: { ...process.env, FLOWRUNNER_SECRET_HOOK: SECRET } });
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-triggers-'));
  server = await start();
});

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const listener = async (id: string) =>
  (await api.call('GET', `/v1/listeners/${id}`)).body as unknown as Listener;
const runCount = async () =>
  (await api.call('GET', '/v1/executions?limit=100')).body.items as unknown as unknown[];

async function firedOnce(id: string): Promise<Listener> {
  return pollUntil(
    () => listener(id),
    (l) => l.fired >= 1,
    (l) => `listener ${id}: ${JSON.stringify(l)}`,
  );
}

async function createWorkflow(definition: Record<string, unknown>) {
  const created = await api.call('POST', '/v1/workflows', { schema_version: '1.0', ...definition });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

async function createListener(body: Record<string, unknown>) {
  const created = await api.call('POST', '/v1/listeners', body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as unknown as Listener;
}

describe('triggers on the local server', () => {
  it('starts a run for an object put to the local S3 endpoint, and the run reads the object', async () => {
    await createWorkflow({
      id: 'read-upload',
      steps: [
        {
          id: 'read',
          type: 'api_call',
          config: {
            method: 'GET',
            url: `${server.url}/v1/executions/{{ run.id }}/artifacts/{{ $encodeUrlComponent(inputs.event.artifact) }}`,
          },
          next: 'done',
        },
        { id: 'done', type: 'transform', config: { output: '{{ steps.read.output.body.rows }}' } },
      ],
    });
    await createListener({
      id: 'uploads',
      type: 's3',
      workflow_id: 'read-upload',
      match: { bucket: 'inbox', prefix: 'in/', suffix: '.json' },
    });
    // Any access key: the endpoint answers the SDK configured as for AWS.
    const s3 = new S3Client({
      endpoint: server.s3Url,
      region: 'eu-west-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'anything' },
    });
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'inbox' }));
      await s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: 'in/notes.txt', Body: 'not for us' }));
      await s3.send(
        new PutObjectCommand({
          Bucket: 'inbox',
          // A key as people write them: spaces, '+', '%' and more than ASCII.
          Key: 'in/Q1 report+final 100% é.json',
          Body: '{"rows":3}',
          ContentType: 'application/json',
        }),
      );
    } finally {
      s3.destroy();
    }
    const fired = await firedOnce('uploads');
    const run = await api.until(fired.last_run_id!, (r) => r.status === 'completed' || r.status === 'failed');
    expect(run).toMatchObject({
      status: 'completed',
      output: 3,
      trigger: { listener_id: 'uploads', type: 's3' },
    });
    const context = (await api.call('GET', `/v1/executions/${run.id}/context`)).body as Record<
      string,
      unknown
    >;
    expect(context.inputs).toMatchObject({
      event: {
        bucket: 'inbox',
        key: 'in/Q1 report+final 100% é.json',
        size: 10,
        artifact: 'Q1 report+final 100% é.json',
      },
    });
    await server.triggers.settled();
    expect((await listener('uploads')).fired).toBe(1);
  });

  it('fires only the eventbridge listeners whose pattern matches, once per event id', async () => {
    await createWorkflow({
      id: 'on-order',
      steps: [{ id: 'done', type: 'transform', config: { output: '{{ inputs.event.detail.total }}' } }],
    });
    await createListener(BIG_ORDERS_LISTENER);
    await createListener({
      id: 'refunds',
      type: 'eventbridge',
      workflow_id: 'on-order',
      match: { source: ['shop'], 'detail-type': ['Refund'] },
    });
    const entry = { source: 'shop', detail_type: 'Order Placed', detail: { total: 250 }, id: 'order-1' };
    for (let i = 0; i < 5; i++) {
      const put = await api.call('POST', '/v1/events', {
        entries: [entry, { ...entry, id: `small-${i}`, detail: { total: 5 } }],
      });
      expect(put).toMatchObject({
        status: 200,
        body: { entries: [{ event_id: 'order-1' }, { event_id: `small-${i}` }] },
      });
      // Answered once the run was started, not before: a kill -9 right after the answer loses nothing.
      expect((await listener('big-orders')).last_run_id).toMatch(/^run_/);
    }
    await server.triggers.settled();
    const big = await listener('big-orders');
    expect(big).toMatchObject({ fired: 1, failed: 0 });
    expect(await listener('refunds')).toMatchObject({ fired: 0, failed: 0 });
    const run = await api.until(big.last_run_id!, (r) => r.status === 'completed');
    expect(run.output).toBe(250);
  });

  it('answers 401 to a webhook with a bad signature and stores nothing; a good one starts one run', async () => {
    await createWorkflow({
      id: 'on-hook',
      steps: [{ id: 'done', type: 'transform', config: { output: '{{ inputs.event.body }}' } }],
    });
    await createListener({
      id: 'github',
      type: 'webhook',
      workflow_id: 'on-hook',
      match: { signature: { scheme: 'github', secret: '{{ secrets.HOOK }}' } },
    });
    const body = JSON.stringify({ action: 'opened' });
    const before = (await runCount()).length;
    const post = (signature: string, delivery = 'd-1') =>
      fetch(`${server.url}/v1/hooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-hub-signature-256': signature,
          'x-github-delivery': delivery,
        },
        body,
      });
    const bad = await post(`sha256=${createHmac('sha256', 'wrong').update(body).digest('hex')}`);
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect((await runCount()).length).toBe(before);
    expect(await listener('github')).toMatchObject({ fired: 0, failed: 0, skipped: 0 });
    const good = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(good)).status);
    expect(statuses).toEqual([202, 200, 200, 200, 200]);
    expect((await runCount()).length).toBe(before + 1);
  });

  it('fires an at() schedule once, across a restart before it is due and after one past it', async () => {
    await createWorkflow({
      id: 'tick',
      steps: [{ id: 'done', type: 'transform', config: { output: '{{ inputs.event.scheduled_time }}' } }],
    });
    const at = (ms: number) => new Date(Math.ceil((Date.now() + ms) / 1000) * 1000);
    const expression = (time: Date) => `at(${time.toISOString().slice(0, 19)})`;
    const soon = at(3_000);
    const later = at(4_000);
    const first = await createListener({
      id: 'soon',
      type: 'schedule',
      workflow_id: 'tick',
      match: { expression: expression(soon) },
    });
    expect(first.next_fire_at).toBe(soon.toISOString());
    await createListener({
      id: 'later',
      type: 'schedule',
      workflow_id: 'tick',
      match: { expression: expression(later) },
    });

    // Restart before either is due: nothing fires yet, nothing is lost.
    await server.close();
    server = await start();
    expect(await listener('soon')).toMatchObject({ fired: 0, next_fire_at: soon.toISOString() });

    const fired = await pollUntil(
      () => listener('soon'),
      (l) => l.fired === 1 && l.next_fire_at === undefined,
      (l) => JSON.stringify(l),
    );
    const run = await api.until(fired.last_run_id!, (r) => r.status === 'completed');
    expect(run.output).toBe(soon.toISOString());

    // Down while `later` comes due: it fires once when the server is back.
    await server.close();
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, later.getTime() - Date.now() + 500)));
    server = await start();
    const caughtUp = await firedOnce('later');
    expect(caughtUp.next_fire_at).toBeUndefined();
    await server.triggers.settled();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await listener('soon')).toMatchObject({ fired: 1, skipped: 0, failed: 0 });
    expect(await listener('later')).toMatchObject({ fired: 1, skipped: 0, failed: 0 });
  }, 30_000);
});
