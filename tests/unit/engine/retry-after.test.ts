/** A retryable error that names `details.retry_after_s` (a 429's `retry-after`): the next retry's timer waits at least that long. */

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MAX_RETRY_AFTER_S } from '../../../shared/engine/transition.js';
import { StepError } from '../../../shared/errors.js';
import { Harness } from '../../../shared/harness/harness.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { defineStepType } from '../../../shared/steps/types.js';

const head = 'schema_version: "1.0"\nid: wf\nsteps:\n';

/** Fails its first `times` attempts with a retryable AiThrottled whose details carry `retry_after_s`. */
function throttledType(attempts: number[]) {
  return defineStepType({
    type: 'throttled',
    config: z.object({ retry_after_s: z.unknown().optional(), times: z.int().default(1) }).strict(),
    action: true,
    outcomes: () => ['success'],
    async execute(ctx) {
      attempts.push(ctx.attempt);
      if (ctx.attempt <= ctx.config.times) {
        throw new StepError('AiThrottled', 'The model provider throttled the request (429)', {
          retryable: true,
          details: {
            status: 429,
            ...(ctx.config.retry_after_s === undefined ? {} : { retry_after_s: ctx.config.retry_after_s }),
          },
        });
      }
      return { status: 'completed', outcome: 'success', output: { attempt: ctx.attempt } };
    },
  });
}

function setUp(steps: string) {
  const attempts: number[] = [];
  const harness = new Harness({
    registry: createStepRegistry([throttledType(attempts)]),
    workflows: [`${head}${steps}`],
  });
  const delays = (runId: string) =>
    harness
      .events(runId)
      .filter((e) => e.type === 'step.retrying')
      .map((e) => e.data.delay_s);
  return { harness, attempts, delays };
}

describe('engine: retry-after', () => {
  it('waits for retry_after_s when it is longer than the backoff, to the millisecond', async () => {
    const { harness, attempts, delays } = setUp(`
  - id: ask
    type: throttled
    config: { retry_after_s: 30 }
    retry: { max_attempts: 3, backoff_s: 2, backoff_rate: 2, max_backoff_s: 10 }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('waiting');
    expect(delays(run.id)).toEqual([30]);
    const started = Date.parse(harness.run(run.id).steps.ask!.retry_at!) - 30_000;
    expect(harness.run(run.id).steps.ask!.retry_at).toBe(new Date(started + 30_000).toISOString());
    await harness.advanceTime(29_999);
    expect(attempts).toEqual([1]);
    await harness.advanceTime(1);
    expect(attempts).toEqual([1, 2]);
    expect(harness.run(run.id).status).toBe('completed');
  });

  it('keeps the backoff when it is the longer one, and ignores a retry_after_s that is not a number', async () => {
    const longer = setUp(`
  - id: ask
    type: throttled
    config: { retry_after_s: 1 }
    retry: { max_attempts: 3, backoff_s: 5, backoff_rate: 2, max_backoff_s: 10 }
`);
    const a = await longer.harness.start('wf');
    expect(longer.delays(a.id)).toEqual([5]);

    const odd = setUp(`
  - id: ask
    type: throttled
    config: { retry_after_s: "600", times: 2 }
    retry: { max_attempts: 3, backoff_s: 2, backoff_rate: 2, max_backoff_s: 10 }
`);
    const b = await odd.harness.start('wf');
    await odd.harness.advanceTime(2_000);
    expect(odd.delays(b.id)).toEqual([2, 4]);
  });

  it('is not cut by max_backoff_s, but never waits longer than MAX_RETRY_AFTER_S; fractions round up', async () => {
    const { harness, delays } = setUp(`
  - id: ask
    type: throttled
    config: { retry_after_s: 86400 }
    retry: { max_attempts: 2, backoff_s: 1, max_backoff_s: 5 }
`);
    const run = await harness.start('wf');
    expect(delays(run.id)).toEqual([MAX_RETRY_AFTER_S]);

    const fraction = setUp(`
  - id: ask
    type: throttled
    config: { retry_after_s: 2.2 }
    retry: { max_attempts: 2, backoff_s: 1 }
`);
    const f = await fraction.harness.start('wf');
    expect(fraction.delays(f.id)).toEqual([3]);
  });
});
