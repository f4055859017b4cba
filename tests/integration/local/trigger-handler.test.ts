/**
 * The trigger function's handler on every sample event of events/s3, events/eventbridge and
 * events/schedule, against the real local stores (dynalite, the local S3) and the local runtime: each
 * starts the runs of exactly the listeners it concerns, with the event and `trigger` of CONTRACT §6;
 * the same event 20 times at once starts one run; a retried fire starts nothing new; a malformed
 * event starts nothing; a batch with a failed delivery keeps the others, and its retry finishes it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTriggerHandler,
  TriggerDeliveryError,
  type TriggerReport,
} from '../../../functions/handlers.js';
import { projectPath } from '../../../infra/constructs/paths.js';
import { FlowrunnerError, ValidationError } from '../../../shared/errors.js';
import { artifactName, type TriggerDeps } from '../../../shared/orchestration/triggers.js';
import type { ListenerDefinition, ListenerSource } from '../../../shared/ports/index.js';
import { createS3Client, ensureBucket } from '../../../shared/storage/local/s3rver.js';
import { deliveriesFromEvent } from '../../../shared/triggers/trigger-events.js';
import { type RuntimeUnderTest, startLocalRuntime, storeWorkflow } from '../../support/local-runtime.js';
import { overriding } from '../../support/overriding.js';

type Json = Record<string, unknown>;

const sample = (file: string) => JSON.parse(readFileSync(projectPath(`events/${file}`), 'utf8')) as Json;
const SAMPLES = ['s3', 'eventbridge', 'schedule', 'dead-letter'].flatMap((folder) =>
  readdirSync(projectPath(`events/${folder}`))
    .filter((name) => name.endsWith('.json'))
    .map((name) => `${folder}/${name}`),
);

const NOW = '2026-11-22T06:00:00.000Z';
const listener = (
  id: string,
  type: ListenerDefinition['type'],
  match: Record<string, unknown>,
  extra: Partial<ListenerDefinition> = {},
): ListenerDefinition => ({
  id,
  type,
  workflow_id: 'intake',
  match,
  enabled: true,
  created_at: NOW,
  updated_at: NOW,
  ...extra,
});

/** Which listeners each sample fires (the others it must leave alone). */
const FIRES: Record<string, string[]> = {
  's3/object-created.json': ['invoices'],
  's3/object-created-unversioned.json': ['invoices'],
  's3/object-created-multipart.json': ['archives'],
  's3/notification-records.json': ['invoices'],
  'eventbridge/custom-event.json': ['signups'],
  'eventbridge/order-placed.json': ['orders'],
  'eventbridge/put-with-id.json': ['orders'],
  'schedule/fire.json': ['heartbeat'],
  'schedule/fire-retry.json': ['heartbeat'],
  'schedule/at-fire.json': ['launch-day'],
  // A dead letter sent back to the function: the heartbeat's fire of 06:01 it carries.
  'dead-letter/failed-invocation.json': ['heartbeat'],
};
/** The samples in the order of the table: a retried fire after the fire it repeats. */
const IN_ORDER = (files: string[]) => Object.keys(FIRES).filter((file) => files.includes(file));

describe('the trigger handler on the sample events, over the local stores', () => {
  let t: RuntimeUnderTest;
  let deps: TriggerDeps;
  let handle: (event: unknown) => Promise<TriggerReport>;

  beforeAll(async () => {
    t = await startLocalRuntime();
    const local = t.runtime.deps;
    // s3rver keeps no versions: the copy of an upload names none there (on AWS the adapter passes the
    // event's version id, tested against the SDK in the S3 adapter's tests).
    deps = {
      ...local,
      stores: {
        ...local.stores,
        artifacts: {
          ...local.stores.artifacts,
          copyIn: (runId, name, { version_id: _, ...source }) =>
            local.stores.artifacts.copyIn(runId, name, source),
        },
      },
    };
    handle = createTriggerHandler(() => deps);
    await storeWorkflow(t.runtime, {
      schema_version: '1.0',
      id: 'intake',
      steps: [{ id: 'seen', type: 'transform', config: { output: '{{ inputs }}' } }],
    });
    const listeners = deps.stores.listeners;
    await listeners.create(listener('invoices', 's3', { bucket: 'inbox', prefix: 'incoming/' }));
    await listeners.create(
      listener('archives', 's3', { bucket: 'inbox', prefix: 'archive/', suffix: '.zip' }),
    );
    await listeners.create(listener('signups', 'eventbridge', { source: ['com.acme.accounts'] }));
    await listeners.create(
      listener(
        'orders',
        'eventbridge',
        {
          source: ['app.shop'],
          'detail-type': ['Order Placed'],
          detail: { total: [{ numeric: ['>', 1000] }] },
        },
        { inputs: { order: '{{ event.detail.order_id }}', tier: '{{ event.detail.customer.tier }}' } },
      ),
    );
    await listeners.create(listener('heartbeat', 'schedule', { expression: 'cron(0 6 * * ? *)' }));
    await listeners.create(listener('launch-day', 'schedule', { expression: 'at(2026-12-01T08:30:00)' }));
    // The uploads the S3 samples announce, in the local S3.
    const s3 = createS3Client({ endpoint: t.runtime.local.s3Endpoint });
    await ensureBucket(s3, 'inbox');
    for (const file of SAMPLES.filter((f) => f.startsWith('s3/'))) {
      for (const delivery of deliveriesFromEvent(sample(file))) {
        if (delivery.type !== 's3') continue;
        await s3.send(
          new PutObjectCommand({
            Bucket: delivery.bucket,
            Key: delivery.key,
            Body: `the content of ${delivery.key}`,
          }),
        );
      }
    }
    s3.destroy();
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('has an expectation for every sample of the trigger sources', () => {
    expect([...SAMPLES].sort()).toEqual(Object.keys(FIRES).sort());
  });

  it.each(IN_ORDER(SAMPLES))(
    '%s starts the run of exactly its listener, with its event and trigger',
    async (file) => {
      const report = await handle(sample(file));
      const outcomes = report.deliveries.flatMap((d) => ('outcomes' in d ? d.outcomes : []));
      expect(outcomes.map((o) => o.listener_id)).toEqual(FIRES[file]);
      // The retry sample repeats the first fire's scheduled time: it is a duplicate of that run.
      const expected = file === 'schedule/fire-retry.json' ? 'duplicate' : 'started';
      expect(outcomes.map((o) => o.outcome)).toEqual([expected]);
      const delivery = deliveriesFromEvent(sample(file))[0]!;
      const run = (await deps.stores.runs.get(outcomes[0]!.run_id!)).state;
      expect(run.trigger).toEqual({
        listener_id: FIRES[file]![0],
        type: delivery.type,
        event_id: delivery.event_id,
      });

      const inputs = run.inputs as { event?: Json; order?: string; tier?: string };
      switch (delivery.type) {
        case 's3': {
          const artifact = artifactName(delivery.key);
          expect(inputs.event).toEqual({
            bucket: 'inbox',
            key: delivery.key,
            size: delivery.size,
            etag: delivery.etag,
            ...(delivery.version_id ? { version_id: delivery.version_id } : {}),
            artifact,
          });
          // The run reads the uploaded object as its artifact.
          const copied = await deps.stores.artifacts.get(run.id, artifact);
          expect(new TextDecoder().decode(copied.body)).toBe(`the content of ${delivery.key}`);
          break;
        }
        case 'eventbridge':
          if (file === 'eventbridge/order-placed.json') {
            expect(inputs).toEqual({ order: 'ord-10042', tier: 'gold' });
          } else if (file === 'eventbridge/put-with-id.json') {
            expect(inputs).toEqual({ order: 'ord-10043', tier: 'silver' });
            expect(run.trigger!.event_id).toBe('ord-10043-placed');
          } else expect(inputs.event).toEqual(sample(file));
          break;
        case 'schedule':
          expect(inputs.event).toEqual({
            scheduled_time: delivery.scheduled_time,
            listener_id: delivery.listener_id,
          });
          break;
        default:
          throw new Error(`unexpected ${delivery.type}`);
      }
    },
  );

  it('starts one run when the same event arrives 20 times at once', async () => {
    const event = { ...sample('eventbridge/custom-event.json'), id: 'c0ffee00-0000-4000-8000-000000000020' };
    const before = (await deps.stores.listeners.get('signups')).fired;
    const reports = await Promise.all(Array.from({ length: 20 }, () => handle(structuredClone(event))));
    const outcomes = reports.flatMap((r) => r.deliveries.flatMap((d) => ('outcomes' in d ? d.outcomes : [])));
    expect(outcomes.filter((o) => o.outcome === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(19);
    expect(new Set(outcomes.map((o) => o.run_id))).toEqual(new Set([outcomes[0]!.run_id]));
    expect((await deps.stores.listeners.get('signups')).fired).toBe(before + 1);
  });

  it('starts nothing for a malformed event, and says where it is wrong', async () => {
    const before = (await deps.stores.listeners.get('signups')).fired;
    const event: Json = {
      ...sample('eventbridge/custom-event.json'),
      id: 'c0ffee00-0000-4000-8000-000000000021',
    };
    delete event.detail;
    const error = await handle(event).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.path)).toEqual(['detail']);
    expect((await deps.stores.listeners.get('signups')).fired).toBe(before);
  });

  it('carries out the rest of a batch when one delivery fails, and its retry starts only what is missing', async () => {
    // Two uploads in one S3 notification; the listener store fails for the second one, once.
    const notification = structuredClone(sample('s3/notification-records.json')) as { Records: Json[] };
    const second = structuredClone(notification.Records[0]!) as { s3: { object: Json } };
    second.s3.object = {
      ...second.s3.object,
      key: 'incoming/2026/11/second.json',
      versionId: 'v-second',
      sequencer: '0A',
    };
    notification.Records = [notification.Records[0]!, second as unknown as Json];
    const first = { ...(notification.Records[0]!.s3 as Json) };
    (notification.Records[0]!.s3 as { object: Json }).object = {
      ...(first.object as Json),
      key: 'incoming/2026/11/first.json',
      versionId: 'v-first',
    };
    const s3 = createS3Client({ endpoint: t.runtime.local.s3Endpoint });
    for (const key of ['incoming/2026/11/first.json', 'incoming/2026/11/second.json']) {
      await s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: key }));
    }
    s3.destroy();

    let failures = 1;
    const flaky: TriggerDeps = {
      ...deps,
      stores: {
        ...deps.stores,
        listeners: overriding(deps.stores.listeners, {
          find: (source: ListenerSource) => {
            if (source.type === 's3' && source.key.endsWith('second.json') && failures-- > 0) {
              return Promise.reject(
                new FlowrunnerError('Throttled', 'the listeners table throttled', { retryable: true }),
              );
            }
            return deps.stores.listeners.find(source);
          },
        }),
      },
    };
    const flakyHandle = createTriggerHandler(() => flaky);

    const error = (await flakyHandle(notification).then(
      () => undefined,
      (e: unknown) => e,
    )) as TriggerDeliveryError;
    expect(error).toBeInstanceOf(TriggerDeliveryError);
    expect(error.retryable).toBe(true);
    const [done, failed] = error.report.deliveries;
    expect(done).toMatchObject({ outcomes: [{ listener_id: 'invoices', outcome: 'started' }] });
    expect(failed).toMatchObject({ error: { code: 'Throttled' } });

    // Lambda retries the same event: the first upload's run is a duplicate, the second one starts.
    const retry = await flakyHandle(notification);
    const outcomes = retry.deliveries.map((d) => ('outcomes' in d ? d.outcomes[0] : undefined));
    expect(outcomes.map((o) => o?.outcome)).toEqual(['duplicate', 'started']);
    expect(outcomes[0]!.run_id).toBe((done as { outcomes: { run_id: string }[] }).outcomes[0]!.run_id);
  });
});
