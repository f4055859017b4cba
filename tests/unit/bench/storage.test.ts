// The storage figures of the benchmark: what they count, on short runs (the timed figures are not run here).
import { describe, expect, it } from 'vitest';
import { itemBytes } from '../../bench/ddb-meter.js';
import { linearRunTransitions, measureDurablePath, measureStoreOps } from '../../bench/storage.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

describe('benchmark: storage figures', () => {
  it('sizes items as DynamoDB bills them: names and values', () => {
    expect(itemBytes({ pk: { S: 'abc' } })).toBe(5);
    expect(itemBytes({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemBytes({ m: { M: { a: { S: 'xy' } } } })).toBe(1 + 3 + 3 + 1);
    expect(itemBytes({ l: { L: [{ S: 'x' }, { BOOL: true }] } })).toBe(1 + 3 + 2 + 2);
  });

  it('meters a 10-step run from start to end: every call, the write units, commit sizes, no S3', async () => {
    const figures = await measureDurablePath(10);
    // The goals of issue #10, deterministic counts (not timings).
    expect(figures.ddb_calls_per_run).toBeLessThanOrEqual(12);
    expect(figures.wcu_per_step).toBeLessThanOrEqual(2);
    expect(figures.s3_requests_per_step).toBe(0);
    expect(figures.commits).toBeGreaterThanOrEqual(2);
    expect(figures.bytes_per_commit).toBeGreaterThan(200);
    expect(figures.by_command.PutItemCommand).toBe(figures.commits + 1);
  });

  it('keeps write units per step flat from 10 to 500 steps', async () => {
    const [small, large] = [await measureDurablePath(10), await measureDurablePath(500)];
    expect(large.wcu_per_step).toBeLessThanOrEqual(2);
    expect(large.wcu_per_step).toBeLessThanOrEqual(1.25 * small.wcu_per_step);
    expect(large.s3_requests_per_step).toBe(0);
  }, 60_000);

  it('replays the real transitions of a linear run: checkpoints in order, seqs without gaps', async () => {
    const transitions = (await linearRunTransitions(10)).map((t) => t.transition);
    expect(transitions.map((t) => t.state.checkpoint)).toEqual(transitions.map((_, i) => i + 1));
    const seqs = transitions.flatMap((t) => t.events.map((e) => e.seq));
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(transitions.at(-1)!.state.status).toBe('completed');
    const result = await measureStoreOps(100);
    expect(result.runs).toBeGreaterThanOrEqual(1);
    expect(result.ops_per_s).toBeGreaterThan(0);
  });
});
