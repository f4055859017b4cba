/**
 * The listener source index (`sourceKey`, `sourceKeys` in shared/storage/rules.ts) only narrows: over
 * any mix of patterns and events, the memory store finds exactly the eventbridge listeners whose
 * pattern matches, as a scan of every listener would (the conformance suite checks the DynamoDB stores
 * against the same keys).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { MemoryListenerStore } from '../../../shared/storage/memory/listeners.js';
import { eventMatches } from '../../../shared/triggers/listener-match.js';

const NOW = '2026-01-01T00:00:00.000Z';
const VALUES = ['a', 'b', 'a#"b', ''];

/** What a pattern may say of `source` or `detail-type` at the top level (undefined: nothing). */
const scope = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...VALUES).map((v) => [v]),
  fc.uniqueArray(fc.constantFrom(...VALUES), { minLength: 2, maxLength: 3 }),
  fc.constantFrom(...VALUES).map((v) => [v, v]),
  fc.constantFrom(...VALUES.filter(Boolean)).map((v) => [{ prefix: v }]),
  fc.constantFrom(...VALUES).map((v) => [{ 'anything-but': v }]),
  fc.constant([{ exists: true }]),
);

const pattern = fc
  .record({ source: scope, detailType: scope, or: fc.boolean() })
  .map(({ source, detailType, or }) => {
    const match: Record<string, unknown> = {};
    if (source) match.source = source;
    if (detailType) match['detail-type'] = detailType;
    if (or) match.$or = [{ source: ['b'] }, { detail: { n: [1] } }];
    if (Object.keys(match).length === 0) match.detail = { n: [{ exists: true }] };
    return match;
  });

const field = fc.oneof(fc.constant(undefined), fc.constantFrom(...VALUES, 'c'));
const event = fc
  .record({ source: field, detailType: field, n: fc.constantFrom(0, 1) })
  .map(({ source, detailType, n }) => ({
    ...(source === undefined ? {} : { source }),
    ...(detailType === undefined ? {} : { 'detail-type': detailType }),
    detail: { n },
  }));

describe('the listener source index', () => {
  it('finds exactly the listeners a scan of every pattern finds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(pattern, { minLength: 1, maxLength: 12 }),
        fc.array(event, { minLength: 1, maxLength: 8 }),
        async (patterns, events) => {
          const store = new MemoryListenerStore(new CursorCodec(new Uint8Array(32)));
          const ids = patterns.map((_, i) => `l${String(i).padStart(2, '0')}`);
          for (const [i, match] of patterns.entries()) {
            await store.create({
              id: ids[i]!,
              type: 'eventbridge',
              workflow_id: 'wf',
              match,
              enabled: true,
              created_at: NOW,
              updated_at: NOW,
            });
          }
          for (const e of events) {
            const found = (await store.find({ type: 'eventbridge', event: e })).map((l) => l.id);
            expect(found).toEqual(ids.filter((_, i) => eventMatches(patterns[i]!, e)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
