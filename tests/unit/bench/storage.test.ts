// The storage figures of the benchmark: what they count, on a short run.
import { describe, expect, it } from 'vitest';
import { linearRunTransitions, measureStoreFigures, measureStoreOps } from '../../bench/storage.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

describe('benchmark: storage figures', () => {
  it('replays the real transitions of a linear run: checkpoints 0..n in order, seqs without gaps', async () => {
    const transitions = await linearRunTransitions(10);
    expect(transitions.map((t) => t.state.checkpoint)).toEqual(transitions.map((_, i) => i));
    const seqs = transitions.flatMap((t) => t.events.map((e) => e.seq));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(transitions.at(-1)!.state.status).toBe('completed');
    expect(transitions.flatMap((t) => t.history).filter((row) => row.status === 'completed')).toHaveLength(
      10,
    );
  });

  it('counts one run record per create or commit and every event, for whole runs only', async () => {
    const transitions = await linearRunTransitions(3);
    const events = transitions.reduce((sum, t) => sum + t.events.length, 0);
    const result = await measureStoreOps({ steps: 3, phaseMs: 100, parallel: 3 });
    expect(result.runs).toBeGreaterThanOrEqual(4); // at least one run per writer and phase
    expect(result.run_writes).toBe(result.runs * transitions.length);
    expect(result.event_writes).toBe(result.runs * events);
    expect(result.ops_per_s).toBeCloseTo(((result.run_writes + result.event_writes) * 1000) / result.ms, 6);
    expect(result.sequential_ops_per_s).toBeGreaterThan(0);
    expect(result.parallel_ops_per_s).toBeGreaterThan(0);
  });

  it('gives both figures of the JSON line, writes per step within the goal of 2', async () => {
    const figures = await measureStoreFigures({ phaseMs: 100 });
    expect(Object.keys(figures).sort()).toEqual(['ddb_writes_per_step', 'store_ops_per_s']);
    expect(figures.ddb_writes_per_step).toBeGreaterThan(0);
    expect(figures.ddb_writes_per_step).toBeLessThanOrEqual(2);
    expect(Number.isInteger(figures.store_ops_per_s)).toBe(true);
    expect(figures.store_ops_per_s).toBeGreaterThan(0);
  });
});
