/**
 * Trigger figures for `npm run bench`:
 *
 * - `trigger_match_us_per_event_100_listeners`: microseconds to match one EventBridge event against
 *   100 stored listener patterns, as the `trigger` Lambda and the local bus do for each event. The
 *   patterns are compiled once (as stored listeners are), mix every operator, and a few of them
 *   match; the events vary so no answer is cached. Median of several timed rounds after a warm-up.
 */
import { performance } from 'node:perf_hooks';
import { compileEventPattern, type EventPattern } from '../../shared/triggers/event-pattern.js';

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

/** 100 patterns over every operator. */
export function triggerPatterns(count = 100): EventPattern[] {
  return Array.from({ length: count }, (_, index) =>
    OPERATOR_PATTERNS[index % OPERATOR_PATTERNS.length]!(index),
  );
}

function sampleEvent(index: number) {
  return {
    version: '0',
    id: `event-${index}`,
    source: 'app.orders',
    'detail-type': 'Order Placed',
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
  patterns: number;
  /** Matches found per event, on average (sanity: not 0, not all). */
  matches_per_event: number;
}

/** Microseconds to match one event against `count` stored patterns (median round). */
export function measureTriggerMatch(count = 100, events = 2000, rounds = 5): number {
  return measureTriggerMatchDetails(count, events, rounds).us_per_event;
}

export function measureTriggerMatchDetails(count = 100, events = 2000, rounds = 5): TriggerMatchResult {
  const compiled = triggerPatterns(count).map(compileEventPattern);
  const samples = Array.from({ length: events }, (_, index) => sampleEvent(index));
  let matches = 0;
  const run = () => {
    matches = 0;
    for (const event of samples) for (const pattern of compiled) if (pattern.matches(event)) matches += 1;
  };
  run();
  const times: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    run();
    times.push(((performance.now() - started) * 1000) / events);
  }
  times.sort((a, b) => a - b);
  return {
    us_per_event: Number(times[Math.floor(times.length / 2)]!.toFixed(2)),
    patterns: count,
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
