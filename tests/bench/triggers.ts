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
