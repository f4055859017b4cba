/**
 * A compensation that fails with a retryable error waits for its retry timer: Advance must sleep or
 * await until it is due, not answer `continue` again and again (which spun the harness at 100% CPU
 * and, in the cloud, would burn Lambda invocations and state transitions).
 */
import { describe, expect, it } from 'vitest';
import { harnessFor } from '../engine/support.js';

const workflow = `schema_version: "1.0"
id: wf
steps:
  - id: a
    type: probe
    retry: { max_attempts: 3, backoff_s: 30 }
    next: b
    compensate: { type: probe, config: { fail: { code: Flaky, retryable: true, times: 1 } } }
  - { id: b, type: probe, config: { fail: { code: Boom } } }
`;

describe('a compensation retry', () => {
  it('waits for its timer and then compensates, without spinning', async () => {
    const { harness } = harnessFor(workflow);
    const run = await harness.start('wf');
    expect(run.status).toBe('running');
    expect(run.compensation?.current?.retry_at).toBeDefined();
    await harness.advanceTime(60_000);
    const done = harness.run(run.id);
    expect(done.status).toBe('failed');
    expect(done.compensated).toBe(true);
  }, 10_000);
});
