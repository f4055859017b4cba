/**
 * The local S3's sequencer (shared/storage/local/s3rver.ts): each write's identity downstream (its
 * dedupe key), so it never repeats and grows with each write, as S3's does, whatever the clock does.
 */
import { describe, expect, it } from 'vitest';
import { createSequencer } from '../../../shared/storage/local/s3rver.js';

describe('createSequencer', () => {
  it('gives writes in one millisecond their own growing sequencers, and starts the count again in the next', () => {
    let now = 0x18f3a2b4c5d;
    const next = createSequencer(() => now);
    const same = [next(), next(), next()];
    expect(same).toEqual(['018F3A2B4C5D000000', '018F3A2B4C5D000001', '018F3A2B4C5D000002']);
    now += 1;
    expect(next()).toBe('018F3A2B4C5E000000');
  });

  it('never goes back when the clock does', () => {
    let now = 2_000;
    const next = createSequencer(() => now);
    const seen = [next()];
    now = 1_000;
    seen.push(next(), next());
    now = 2_001;
    seen.push(next());
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
