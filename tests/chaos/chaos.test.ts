/**
 * The short version of `npm run chaos`: a real server is loaded, killed with kill -9 mid-flight,
 * restarted, attacked with hostile expressions, patterns and bodies; nothing may be lost, stuck,
 * done twice or answered with a 5xx, and /healthz must keep answering.
 */
import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos.js';

describe('the reliability harness (short)', () => {
  it('loses no run, leaves none stuck, does nothing twice and answers no 5xx across a kill -9 and an attack', async () => {
    const figures = await runChaos({
      loadRuns: 16,
      crashRuns: 4,
      memoryWarmupRuns: 20,
      memoryRuns: 40,
      settleMs: 45_000,
    });
    expect({
      lost: figures.chaos_lost,
      stuck: figures.chaos_stuck,
      double: figures.chaos_double,
      signalsDouble: figures.chaos_signals_double,
      fivexx: figures.chaos_5xx,
      crashes: figures.chaos_crashes,
    }).toEqual({ lost: 0, stuck: 0, double: 0, signalsDouble: 0, fivexx: 0, crashes: 0 });
    // A blocked event loop shows as seconds; a healthy one answers within a few hundred ms even on a slow machine.
    expect(figures.healthz_max_ms_under_attack).toBeGreaterThanOrEqual(0);
    expect(figures.healthz_max_ms_under_attack).toBeLessThan(3_000);
  }, 240_000);
});
