/**
 * The local trigger host (infra/local/triggers.ts) on memory stores: the bus answers at once and
 * delivers after, a delivery the stores refused is tried again (at least once, as in the cloud), and
 * the scheduler loop gives a schedule its next_fire_at and fires what is due once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PendingDeliveries } from '../../infra/local/pending-deliveries.js';
import { LocalTriggers } from '../../infra/local/triggers.js';
import { assertValidWorkflow } from '../../shared/definition/validate.js';
import { StorageError } from '../../shared/errors.js';
import type { TriggerDelivery } from '../../shared/ports/index.js';
import type { S3NotificationEvent } from '../../shared/storage/local/s3rver.js';
import { memoryOrchestrator, NOW } from '../support/memory-orchestrator.js';

async function bed() {
  const t = memoryOrchestrator(undefined, {
    buckets: new Map([['inbox', new Map([['a.json', new Uint8Array([123, 125])]])]]),
  });
  await t.stores.workflows.create(
    assertValidWorkflow({
      schema_version: '1.0',
      id: 'wf',
      steps: [{ id: 'done', type: 'transform', config: { output: 1 } }],
    }),
    NOW,
  );
  const at = NOW.toISOString();
  const listener = { workflow_id: 'wf', enabled: true, created_at: at, updated_at: at };
  await t.stores.listeners.create({
    ...listener,
    id: 'orders',
    type: 'eventbridge',
    match: { source: ['shop'] },
  });
  await t.stores.listeners.create({ ...listener, id: 'uploads', type: 's3', match: { bucket: 'inbox' } });
  let emit: (event: S3NotificationEvent) => void = () => {};
  const errors: Array<[TriggerDelivery, unknown]> = [];
  const triggers = new LocalTriggers({
    deps: t.deps,
    onS3Event: (listener) => {
      emit = listener;
    },
    onError: (delivery, error) => void errors.push([delivery, error]),
  });
  return { ...t, triggers, errors, emit: (event: S3NotificationEvent) => emit(event) };
}

describe('PendingDeliveries', () => {
  it('replays only what a previous process left, keeps ids with line breaks apart, and ignores writes after close', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-pending-'));
    try {
      const odd = { type: 'eventbridge', event_id: 'a\nb', event: {} } as unknown as TriggerDelivery;
      const plain = { type: 'eventbridge', event_id: 'c', event: {} } as unknown as TriggerDelivery;
      const first = new PendingDeliveries(dataDir);
      first.accepted(odd);
      first.accepted(plain);
      first.carriedOut(odd);
      first.close();
      first.accepted({ ...plain, event_id: 'after-close' });
      const second = new PendingDeliveries(dataDir);
      expect(second.leftover().map((d) => d.event_id)).toEqual(['c']);
      // Accepted by this process: pending, but not a leftover to replay.
      second.accepted({ ...plain, event_id: 'd' });
      expect(second.leftover().map((d) => d.event_id)).toEqual(['c']);
      expect(second.pending().map((d) => d.event_id)).toEqual(['c', 'd']);
      second.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe('LocalTriggers', () => {
  it('answers a put at once, and tries a delivery the stores refused again', async () => {
    const t = await bed();
    const find = t.stores.listeners.find.bind(t.stores.listeners);
    let refusals = 1;
    t.stores.listeners.find = async (source) => {
      if (refusals-- > 0) throw new StorageError('StorageUnavailable', 'the table did not answer');
      return find(source);
    };
    const [answer] = await t.triggers.bus.put([
      { source: 'shop', detail_type: 'Order', detail: {}, id: 'e-1' },
    ]);
    expect(answer).toEqual({ event_id: 'e-1' });
    expect((await t.stores.listeners.get('orders')).fired).toBe(0);
    await t.triggers.settled();
    expect((await t.stores.listeners.get('orders')).fired).toBe(1);
    expect(t.errors).toEqual([]);
    await t.triggers.close();
  });

  it('fires s3 listeners for created objects only, not for deletes nor for the engine’s own bucket', async () => {
    const t = await bed();
    const record = (eventName: string, bucket: string, sequencer = '01') => ({
      eventName,
      eventTime: NOW.toISOString(),
      s3: { bucket: { name: bucket }, object: { key: 'a.json', size: 2, eTag: 'e', sequencer } },
    });
    t.emit({
      Records: [record('ObjectRemoved:Delete', 'inbox'), record('ObjectCreated:Copy', 'flowrunner-local')],
    });
    await t.triggers.settled();
    expect((await t.stores.listeners.get('uploads')).fired).toBe(0);
    // Two writes of one key are two events (the local S3 gives each its own sequencer); the same write
    // notified twice is one, as in the cloud: the dedupe key is the trigger function's.
    t.emit({ Records: [record('ObjectCreated:Put', 'inbox', '01')] });
    t.emit({ Records: [record('ObjectCreated:Put', 'inbox', '02')] });
    t.emit({ Records: [record('ObjectCreated:Put', 'inbox', '02')] });
    await t.triggers.settled();
    expect((await t.stores.listeners.get('uploads')).fired).toBe(2);
    const runs = await t.stores.runs.list({ limit: 10 });
    const triggers = await Promise.all(
      runs.items.map(async (run) => (await t.stores.runs.get(run.id)).state.trigger?.event_id),
    );
    expect(triggers.sort()).toEqual(['inbox/a.json?sequencer=01', 'inbox/a.json?sequencer=02']);
    await t.triggers.close();
  });

  it('keeps what the bus and the S3 endpoint accepted until it is carried out: a host killed before carries it out when it starts again', async () => {
    const t = await bed();
    const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-pending-'));
    try {
      // The first host dies with both deliveries accepted and not carried out: the S3 one half-way,
      // its fire claimed and the object not yet copied; the bus one between the tries of a delivery
      // the stores refused.
      const find = t.stores.listeners.find.bind(t.stores.listeners);
      const dying = {
        ...t.deps,
        stores: {
          ...t.deps.stores,
          listeners: Object.assign(Object.create(t.stores.listeners), {
            find: async (source: Parameters<typeof find>[0]) => {
              // Refused for good, so that its retries cannot be what carries the delivery out.
              if (source.type === 'eventbridge') {
                throw new StorageError('StorageUnavailable', 'the table did not answer');
              }
              return find(source);
            },
          }),
          artifacts: Object.assign(Object.create(t.deps.stores.artifacts), {
            copyIn: () => new Promise<never>(() => {}),
          }),
        },
      };
      let emit: (event: S3NotificationEvent) => void = () => {};
      const first = new LocalTriggers({
        deps: dying,
        onS3Event: (listener) => {
          emit = listener;
        },
        onError: () => {},
        dataDir,
      });
      emit({
        Records: [
          {
            eventName: 'ObjectCreated:Put',
            eventTime: NOW.toISOString(),
            s3: { bucket: { name: 'inbox' }, object: { key: 'a.json', size: 2, eTag: 'e', sequencer: '07' } },
          },
        ],
      });
      await first.bus.put([{ source: 'shop', detail_type: 'Order', detail: {}, id: 'e-kept' }]);
      expect((await t.stores.listeners.get('uploads')).fired).toBe(0);
      expect((await t.stores.listeners.get('orders')).fired).toBe(0);

      // The next host, on the same data directory and working stores, carries both out at start:
      // the start left half-way is finished at once (its claim is young, but it was made before
      // this host began: its claimant is gone).
      const next = new LocalTriggers({
        deps: { ...t.deps, claimsOrphanedBefore: new Date(NOW.getTime() + 1) },
        onS3Event: () => {},
        dataDir,
      });
      await next.start();
      await next.settled();
      expect((await t.stores.listeners.get('uploads')).fired).toBe(1);
      expect((await t.stores.listeners.get('orders')).fired).toBe(1);
      await next.close();
      // Carried out, they are not carried out again by the host after.
      expect(new PendingDeliveries(dataDir).leftover()).toEqual([]);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('gives a schedule its next fire, fires one that is due once, and stops on close', async () => {
    const t = await bed();
    const at = NOW.toISOString();
    await t.stores.listeners.create({
      id: 'tick',
      type: 'schedule',
      workflow_id: 'wf',
      match: { expression: 'rate(5 minutes)' },
      enabled: true,
      created_at: at,
      updated_at: at,
    });
    await t.triggers.start();
    expect((await t.stores.listeners.get('tick')).next_fire_at).toBe('2026-01-01T00:05:00.000Z');
    // The server was down for an hour: one catch-up fire, then the rhythm goes on from now.
    t.clock.advance(61 * 60_000);
    await t.triggers.schedules.upsert(await t.stores.listeners.get('tick'));
    await t.triggers.settled();
    expect(await t.stores.listeners.get('tick')).toMatchObject({
      fired: 1,
      next_fire_at: '2026-01-01T01:05:00.000Z',
    });
    await t.triggers.close();
    t.clock.advance(60 * 60_000);
    await t.triggers.schedules.upsert(await t.stores.listeners.get('tick'));
    expect((await t.stores.listeners.get('tick')).fired).toBe(1);
  });
});
