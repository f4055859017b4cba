// The AI figure of the benchmark: what it times, on a short run.
import { describe, expect, it } from 'vitest';
import { measureAiOverhead } from '../../bench/ai.js';

describe('benchmark: ai_overhead_ms_per_call', () => {
  it('times whole ai_generate calls, each one request to the loopback server', async () => {
    const result = await measureAiOverhead(5, 1);
    expect(result.requests_per_round).toBe(5);
    expect(result.ms_per_call).toBeGreaterThan(0);
    expect(Number.isFinite(result.ms_per_call)).toBe(true);
  });
});
