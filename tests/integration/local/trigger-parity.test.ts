/**
 * Local and cloud triggers behave the same (CONTRACT §6). Two worlds get the same requests:
 *
 * - local: the local server over HTTP (its in-process bus behind POST /v1/events, its S3 endpoint);
 * - cloud: the API handler with the EventBridge bus adapter and the real EventBridge client against a
 *   loopback PutEvents (tests/support/fake-eventbridge.ts), then the trigger function's handler fed
 *   each captured entry as EventBridge delivers it; for S3, the "Object Created" event and the S3
 *   notification the same object write makes in the cloud.
 *
 * Each pair must answer the same event ids and start the same runs (count, `trigger`, the event a run
 * sees but for the account and region); the same S3 write through the cloud shapes is a duplicate of
 * the local run (the same dedupe key).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../../functions/api/app.js';
import { createTriggerHandler, type TriggerReport } from '../../../functions/handlers.js';
import { type LocalServer, startLocalServer } from '../../../infra/local/server.js';
import { createEventBridgeBus } from '../../../shared/adapters/event-bus.js';
import type { S3NotificationEvent } from '../../../shared/storage/local/s3rver.js';
import { createS3Client, ensureBucket } from '../../../shared/storage/local/s3rver.js';
import { apiClient } from '../../support/api-client.js';
import { type FakeEventBridge, startFakeEventBridge } from '../../support/fake-eventbridge.js';
import { type RuntimeUnderTest, startLocalRuntime } from '../../support/local-runtime.js';
import { BIG_ORDERS_LISTENER } from '../../support/order-listeners.js';
import { pollUntil } from '../../support/poll.js';
import { httpEvent } from '../../unit/api/support.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  body: Json;
}

/** What the tests do to either world. */
interface World {
  call(method: string, path: string, body?: unknown): Promise<Answer>;
  /** Waits until every event put so far reached the triggers and started what it starts. */
  settle(): Promise<void>;
}

const WORKFLOW = {
  schema_version: '1.0',
  id: 'on-order',
  steps: [{ id: 'seen', type: 'transform', config: { output: '{{ inputs.event.detail.total }}' } }],
};
const UPLOAD_WORKFLOW = {
  schema_version: '1.0',
  id: 'on-upload',
  steps: [{ id: 'seen', type: 'transform', config: { output: '{{ inputs.event.key }}' } }],
};
const LISTENERS = [
  BIG_ORDERS_LISTENER,
  { id: 'all-orders', type: 'eventbridge', workflow_id: 'on-order', match: { source: ['shop'] } },
  { id: 'uploads', type: 's3', workflow_id: 'on-upload', match: { bucket: 'inbox', prefix: 'incoming/' } },
];

let dataDir: string;
let server: LocalServer;
let cloudRuntime: RuntimeUnderTest;
let fake: FakeEventBridge;
let eventBridge: EventBridgeClient;
let local: World;
let cloud: World;
/** The trigger function over the cloud world's stores, and over the local world's. */
let cloudTrigger: (event: unknown) => Promise<TriggerReport>;
let localTrigger: (event: unknown) => Promise<TriggerReport>;

const context = { functionName: 'api', awsRequestId: 'req' } as unknown as Context;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-parity-'));
  server = await startLocalServer({ dataDir, port: 0, env: {} });
  const http = apiClient(() => server.url);
  local = {
    call: async (method, path, body) => (await http.call(method, path, body)) as unknown as Answer,
    settle: () => server.triggers.settled(),
  };

  cloudRuntime = await startLocalRuntime();
  fake = await startFakeEventBridge();
  eventBridge = new EventBridgeClient({
    endpoint: fake.endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const cloudDeps = cloudRuntime.runtime.deps;
  const api = createApi({
    orchestrator: cloudDeps,
    bus: createEventBridgeBus({ client: eventBridge, eventBusName: 'flowrunner-events' }),
  });
  cloudTrigger = createTriggerHandler(() => cloudDeps);
  localTrigger = createTriggerHandler(() => server.runtime.deps);
  let delivered = 0;
  cloud = {
    async call(method, path, body) {
      const url = new URL(path, 'http://api');
      const query = Object.fromEntries(url.searchParams);
      const result = (await api(
        httpEvent(method, url.pathname, { query, ...(body === undefined ? {} : { body }) }),
        context,
      )) as APIGatewayProxyStructuredResultV2;
      const text = typeof result.body === 'string' ? result.body : '';
      return { status: result.statusCode ?? 200, body: (text ? JSON.parse(text) : undefined) as Json };
    },
    // EventBridge's rule on the project's bus: every event put goes to the trigger function, once.
    async settle() {
      while (delivered < fake.put.length) await cloudTrigger(fake.delivered(fake.put[delivered++]!));
    },
  };

  for (const world of [local, cloud]) {
    for (const workflow of [WORKFLOW, UPLOAD_WORKFLOW]) {
      const created = await world.call('POST', '/v1/workflows', workflow);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
    for (const listener of LISTENERS) {
      const created = await world.call('POST', '/v1/listeners', listener);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
  }
}, 60_000);

afterAll(async () => {
  eventBridge?.destroy();
  await fake?.close();
  await server?.close();
  await cloudRuntime?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** The runs a listener started, each with its `trigger` and the event it received, oldest first. */
async function runsOf(world: World, listenerId: string): Promise<Array<{ trigger: Json; event: Json }>> {
  const listed = await world.call('GET', '/v1/executions?limit=100');
  const runs = [];
  for (const item of listed.body.items as Json[]) {
    const run = (await world.call('GET', `/v1/executions/${item.id}`)).body;
    const trigger = run.trigger as Json | undefined;
    if (trigger?.listener_id !== listenerId) continue;
    const { inputs } = (await world.call('GET', `/v1/executions/${item.id}/context`)).body as {
      inputs: { event: Json };
    };
    runs.push({ trigger, event: inputs.event, created: String(run.started_at) });
  }
  return runs
    .sort((a, b) => a.created.localeCompare(b.created))
    .map(({ trigger, event }) => ({ trigger, event }));
}

/** The event as the same in both places: the account and region are where it ran. */
const placeless = ({ account: _, region: __, ...event }: Json) => event;

async function putInBoth(entries: Json[]): Promise<[Answer, Answer]> {
  const answers = [] as unknown as [Answer, Answer];
  for (const world of [local, cloud]) {
    const answer = await world.call('POST', '/v1/events', { entries });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    answers.push(answer);
    await world.settle();
  }
  return answers;
}

describe('POST /v1/events, on one machine and in the cloud', () => {
  it('a retried put with the caller’s id starts one run per listener in both, with that event id', async () => {
    const entry = {
      source: 'shop',
      detail_type: 'Order Placed',
      detail: { order_id: 'o-1', total: 250 },
      time: '2026-11-22T06:00:00+01:00',
      id: 'order-1',
    };
    for (let attempt = 0; attempt < 3; attempt++) {
      const [inLocal, inCloud] = await putInBoth([entry]);
      expect(inLocal.body).toEqual({ entries: [{ event_id: 'order-1' }] });
      expect(inCloud.body).toEqual(inLocal.body);
    }
    // The cloud put three events with three EventBridge ids; each carried the caller's id.
    expect(new Set(fake.put.map((p) => p.eventId)).size).toBe(3);

    for (const listener of ['big-orders', 'all-orders']) {
      const [localRuns, cloudRuns] = [await runsOf(local, listener), await runsOf(cloud, listener)];
      expect(localRuns).toHaveLength(1);
      expect(cloudRuns).toHaveLength(1);
      expect(localRuns[0]!.trigger).toEqual({
        listener_id: listener,
        type: 'eventbridge',
        event_id: 'order-1',
      });
      expect(cloudRuns[0]!.trigger).toEqual(localRuns[0]!.trigger);
      // The same event, the caller's id its id, no trace of how the id travelled.
      expect(placeless(cloudRuns[0]!.event)).toEqual(placeless(localRuns[0]!.event));
      expect(localRuns[0]!.event).toMatchObject({
        id: 'order-1',
        source: 'shop',
        'detail-type': 'Order Placed',
        time: '2026-11-22T05:00:00Z',
        resources: [],
        detail: { order_id: 'o-1', total: 250 },
      });
    }
  });

  it('puts without an id start a run each in both, recording the id each put answered', async () => {
    const entry = { source: 'shop', detail_type: 'Order Placed', detail: { total: 120 } };
    const answered: Array<[string, string]> = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const [inLocal, inCloud] = await putInBoth([entry, { ...entry, detail: { total: 5 } }]);
      const ids = (answer: Answer) =>
        (answer.body.entries as Array<{ event_id: string }>).map((e) => e.event_id);
      answered.push([ids(inLocal)[0]!, ids(inCloud)[0]!]);
      // The cloud answers EventBridge's ids: those of the events the trigger function received.
      expect(ids(inCloud)).toEqual(fake.put.slice(-2).map((p) => p.eventId));
    }
    for (const [index, world] of [local, cloud].entries()) {
      const runs = (await runsOf(world, 'big-orders')).filter((run) => run.trigger.event_id !== 'order-1');
      // As sets: two runs may start in one millisecond, and the listing orders by time.
      expect(runs.map((run) => run.trigger.event_id).sort()).toEqual(
        answered.map((pair) => pair[index]).sort(),
      );
      expect(runs.map((run) => (run.event.detail as Json).total)).toEqual([120, 120]);
      // The small orders fire only the listener of every order.
      expect(await runsOf(world, 'all-orders')).toHaveLength(5);
    }
  });
});

describe('an object written, on one machine and in the cloud', () => {
  /** Keys whose encodings differ: a space, a plus, parentheses, a non-ASCII letter. */
  const KEY = 'incoming/Q3 report+final (ü).csv';
  let s3: S3Client;
  beforeAll(() => {
    s3 = createS3Client({ endpoint: server.s3Url });
  });
  afterAll(() => s3?.destroy());

  it('gives the same trigger and dedupe key through the local S3 endpoint as through EventBridge and S3 notifications', async () => {
    const notified: S3NotificationEvent[] = [];
    server.runtime.local.onS3Event((event) => void notified.push(event));
    await ensureBucket(s3, 'inbox');
    await s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: KEY, Body: 'a,b\n1,2\n' }));
    const [record] = (
      await pollUntil(
        async () => notified.filter((e) => e.Records[0]?.eventName.startsWith('ObjectCreated:')),
        (created) => created.length === 1,
        (created) => `${created.length} notifications`,
      )
    )[0]!.Records;
    await local.settle();
    const [localRun] = await runsOf(local, 'uploads');
    const { object } = record!.s3;

    // What S3 → EventBridge sends for this write (Amazon S3 User Guide, "EventBridge event message
    // structure"): the key as written, no version id in an unversioned bucket, the write's sequencer.
    const objectCreated = {
      version: '0',
      id: '17793124-05d4-b198-2fde-7ededc63b103',
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '123456789012',
      time: record!.eventTime.replace(/\.\d{3}Z$/, 'Z'),
      region: 'eu-west-1',
      resources: ['arn:aws:s3:::inbox'],
      detail: {
        version: '0',
        bucket: { name: 'inbox' },
        object: { key: KEY, size: object.size, etag: object.eTag, sequencer: object.sequencer },
        'request-id': 'N4N7GDK58NMKJ12R',
        requester: '123456789012',
        reason: 'PutObject',
      },
    };
    // And what S3 sends as a notification: the key URL-encoded as a form value.
    const notification = {
      Records: [
        {
          eventVersion: '2.1',
          eventSource: 'aws:s3',
          awsRegion: 'eu-west-1',
          eventTime: record!.eventTime,
          eventName: 'ObjectCreated:Put',
          s3: {
            s3SchemaVersion: '1.0',
            bucket: { name: 'inbox', arn: 'arn:aws:s3:::inbox' },
            object: {
              key: 'incoming/Q3+report%2Bfinal+%28%C3%BC%29.csv',
              size: object.size,
              eTag: object.eTag,
              sequencer: object.sequencer,
            },
          },
        },
      ],
    };
    // In a cloud of its own, the EventBridge event starts the same run as the local endpoint did.
    await s3Put(cloudRuntime.runtime.local.s3Endpoint, KEY);
    const report = await cloudTrigger(objectCreated);
    expect(report.deliveries).toMatchObject([{ outcomes: [{ listener_id: 'uploads', outcome: 'started' }] }]);
    const [cloudRun] = await runsOf(cloud, 'uploads');
    expect(localRun!.trigger).toEqual({
      listener_id: 'uploads',
      type: 's3',
      event_id: `inbox/${KEY}?sequencer=${object.sequencer}`,
    });
    expect(cloudRun!.trigger).toEqual(localRun!.trigger);
    expect(cloudRun!.event).toEqual(localRun!.event);
    expect(localRun!.event).toEqual({
      bucket: 'inbox',
      key: KEY,
      size: 8,
      etag: object.eTag,
      artifact: 'Q3 report+final (ü).csv',
    });

    // Over the local stores, either cloud shape of the same write is a duplicate of the local run.
    for (const event of [objectCreated, notification]) {
      const again = await localTrigger(event);
      expect(again.deliveries).toMatchObject([
        { outcomes: [{ listener_id: 'uploads', outcome: 'duplicate' }] },
      ]);
    }
    expect(await runsOf(local, 'uploads')).toHaveLength(1);
  });

  it('tells two writes of one key apart however fast they come, in one notification each', async () => {
    const before = (await runsOf(local, 'uploads')).length;
    const key = 'incoming/twice.csv';
    await Promise.all([
      s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: 'one' })),
      s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: 'two' })),
      s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: 'six' })),
    ]);
    const runs = await pollUntil(
      async () => {
        await local.settle();
        return (await runsOf(local, 'uploads')).filter((run) => run.event.key === key);
      },
      (found) => found.length === 3,
      (found) => `${found.length} runs (${before} before)`,
    );
    expect(new Set(runs.map((run) => run.trigger.event_id)).size).toBe(3);
  });
});

async function s3Put(endpoint: string, key: string): Promise<void> {
  const client = createS3Client({ endpoint });
  try {
    await ensureBucket(client, 'inbox');
    await client.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: 'a,b\n1,2\n' }));
  } finally {
    client.destroy();
  }
}
