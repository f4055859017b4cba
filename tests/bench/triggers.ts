/**
 * Trigger figures for `npm run bench`:
 *
 * - `trigger_match_us_per_event_100_listeners`: microseconds to find the listeners one EventBridge
 *   event fires among 100 stored eventbridge listeners — the listener store's `find`, as the `trigger`
 *   Lambda and the local bus call it for each event: read the candidates, match their patterns. The
 *   store is the in-memory one (no I/O: the figure is the lookup and the matching). Most listeners name
 *   their source (one of ten) and half of those their detail-type, as projects write them; one in five
 *   matches on operators alone; every operator appears. The events vary so no answer is cached. Median
 *   of several timed rounds after a warm-up.
 */
import { performance } from 'node:perf_hooks';
import type { ListenerStore } from '../../shared/ports/index.js';
import { CursorCodec } from '../../shared/storage/cursor.js';
import { MemoryListenerStore } from '../../shared/storage/memory/listeners.js';
import type { EventPattern } from '../../shared/triggers/event-pattern.js';

const OPERATOR_PATTERNS: Array<(index: number) => EventPattern> = [
  (index) => ({ source: [`app.orders-${index}`], 'detail-type': ['Order Placed'] }),
  (index) => ({
    source: [{ prefix: 'app.' }],
    detail: { status: [{ 'anything-but': ['cancelled', `status-${index}`] }] },
  }),
  (index) => ({
    detail: { total: [{ numeric: ['>', index, '<=', index + 500] }], currency: ['EUR', 'USD'] },
  }),
  (index) => ({ detail: { 'customer-ip': [{ cidr: `10.${index % 256}.0.0/16` }] } }),
  (index) => ({ detail: { key: [{ wildcard: `uploads/${index}/*.png` }] } }),
  (index) => ({
    detail: {
      region: [{ 'equals-ignore-case': index % 2 ? 'EU-WEST-1' : 'us-east-1' }],
      coupon: [{ exists: false }],
    },
  }),
  (index) => ({
    source: ['app.orders'],
    $or: [{ detail: { priority: [{ suffix: `-${index}` }] } }, { detail: { tags: [`tag-${index}`] } }],
  }),
];

const TEAMS = 10;
const team = (index: number) => `app.team-${index % TEAMS}`;

/** `count` patterns over every operator: four in five name their source, half of those their detail-type. */
export function triggerPatterns(count = 100): EventPattern[] {
  return Array.from({ length: count }, (_, index) => {
    const operators = OPERATOR_PATTERNS[index % OPERATOR_PATTERNS.length]!(index);
    if (index % 5 === 4) return operators;
    const { 'detail-type': _detailType, ...rest } = operators;
    return {
      ...rest,
      source: [team(index)],
      ...(index % 2 === 0 ? { 'detail-type': [index % 4 === 0 ? 'Order Placed' : 'Order Shipped'] } : {}),
    };
  });
}

function sampleEvent(index: number) {
  return {
    version: '0',
    id: `event-${index}`,
    source: index % 7 === 0 ? 'app.orders' : team(index),
    'detail-type': index % 3 ? 'Order Placed' : 'Order Shipped',
    account: '123456789012',
    time: '2025-01-01T00:00:00Z',
    region: 'eu-west-1',
    resources: [],
    detail: {
      status: index % 3 ? 'placed' : 'cancelled',
      total: index % 1000,
      currency: 'EUR',
      'customer-ip': `10.${index % 256}.${index % 7}.1`,
      key: `uploads/${index % 100}/photo-${index}.png`,
      region: 'eu-west-1',
      priority: `p-${index % 100}`,
      tags: ['a', `tag-${index % 100}`, 'b'],
    },
  };
}

export interface TriggerMatchResult {
  us_per_event: number;
  listeners: number;
  /** Listeners found per event, on average (sanity: not 0, not all). */
  matches_per_event: number;
}

/** Microseconds to find the listeners of one event among `count` stored ones (median round). */
export async function measureTriggerMatch(count = 100, events = 2000, rounds = 5): Promise<number> {
  return (await measureTriggerMatchDetails(count, events, rounds)).us_per_event;
}

/** A listener store holding `count` eventbridge listeners with the patterns of `triggerPatterns`. */
export async function triggerListeners(count = 100): Promise<ListenerStore> {
  const store = new MemoryListenerStore(new CursorCodec(new Uint8Array(32)));
  const at = '2025-01-01T00:00:00.000Z';
  for (const [index, match] of triggerPatterns(count).entries()) {
    await store.create({
      id: `listener-${String(index).padStart(3, '0')}`,
      type: 'eventbridge',
      workflow_id: 'bench',
      match: match as Record<string, unknown>,
      enabled: true,
      created_at: at,
      updated_at: at,
    });
  }
  return store;
}

export async function measureTriggerMatchDetails(
  count = 100,
  events = 2000,
  rounds = 5,
): Promise<TriggerMatchResult> {
  const store = await triggerListeners(count);
  const samples = Array.from({ length: events }, (_, index) => sampleEvent(index));
  let matches = 0;
  const run = async () => {
    matches = 0;
    for (const event of samples) matches += (await store.find({ type: 'eventbridge', event })).length;
  };
  await run();
  const times: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    await run();
    times.push(((performance.now() - started) * 1000) / events);
  }
  times.sort((a, b) => a - b);
  return {
    us_per_event: Number(times[Math.floor(times.length / 2)]!.toFixed(2)),
    listeners: count,
    matches_per_event: matches / events,
  };
}

/**
 * `trigger_to_run_started_ms`: milliseconds from a PutObject to the local S3 endpoint (the real S3
 * client, any access key) until the run its s3 listener starts has started (`started_at` is set): the
 * local S3 notification, the dispatcher (listener lookup, claim, object copied into the run's
 * artifacts, start) and the first Advance. Median of `puts` puts, one after the other, on the local
 * server of `npm start` (dynalite and s3rver on disk in a temporary directory).
 */
export async function measureTriggerToRunStarted(puts = 20): Promise<number> {
  const [
    { mkdtemp, rm },
    { tmpdir },
    { join },
    s3,
    { startLocalServer },
    { assertValidWorkflow },
    { logger },
  ] = await Promise.all([
    import('node:fs/promises'),
    import('node:os'),
    import('node:path'),
    import('@aws-sdk/client-s3'),
    import('../../infra/local/server.js'),
    import('../../shared/definition/validate.js'),
    import('../../shared/adapters/logger.js'),
  ]);
  // The benchmark prints one JSON line: the server's per-Advance log lines would bury it.
  const level = logger.getLevelName();
  logger.setLogLevel('WARN');
  const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-bench-triggers-'));
  const server = await startLocalServer({ dataDir, port: 0, env: { ...process.env } });
  const client = new s3.S3Client({
    endpoint: server.s3Url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  try {
    const { stores, clock } = server.runtime.deps;
    const workflow = assertValidWorkflow({
      schema_version: '1.0',
      id: 'bench-upload',
      steps: [{ id: 'done', type: 'transform', config: { output: '{{ inputs.event.key }}' } }],
    });
    await stores.workflows.create(workflow, clock.now());
    const at = clock.now().toISOString();
    await stores.listeners.create({
      id: 'bench-upload',
      type: 's3',
      workflow_id: 'bench-upload',
      match: { bucket: 'bench-inbox' },
      enabled: true,
      created_at: at,
      updated_at: at,
    });
    await client.send(new s3.CreateBucketCommand({ Bucket: 'bench-inbox' }));
    const times: number[] = [];
    for (let index = 0; index < puts; index += 1) {
      const started = performance.now();
      await client.send(
        new s3.PutObjectCommand({ Bucket: 'bench-inbox', Key: `in/${index}.json`, Body: `{"n":${index}}` }),
      );
      for (;;) {
        const listener = await stores.listeners.get('bench-upload');
        if (listener.fired === index + 1 && listener.last_run_id) {
          const { state } = await stores.runs.get(listener.last_run_id);
          if (state.started_at) break;
        }
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return Number(times[Math.floor(times.length / 2)]!.toFixed(1));
  } finally {
    client.destroy();
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
    logger.setLogLevel(level);
  }
}
