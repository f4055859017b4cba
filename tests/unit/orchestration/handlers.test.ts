import { describe, expect, it } from 'vitest';
import {
  advanceBudgetMs,
  createAdvanceHandler,
  createAwaitSignalHandler,
} from '../../../functions/handlers.js';

const unused = () => {
  throw new Error('not reached: the payload is refused first');
};

describe('orchestration handlers', () => {
  it('refuse an Advance payload that is not {run_id, generation}, naming the fields', async () => {
    const handler = createAdvanceHandler(unused);
    await expect(handler({ run_id: '', generation: -1 })).rejects.toMatchObject({
      code: 'ValidationError',
      issues: [expect.objectContaining({ path: 'run_id' }), expect.objectContaining({ path: 'generation' })],
    });
    await expect(
      handler({ run_id: 'run_1', generation: 0, signal: { type: 'resume' } }),
    ).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: 'signal.type' })],
    });
  });

  it("take Abort's payload: the AdvanceInput with the failure Step Functions caught, and nothing else", async () => {
    const handler = createAdvanceHandler(unused);
    await expect(
      handler({ run_id: 'run_1', generation: 0, failure: { Error: 'TypeError', Cause: 7 } }),
    ).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'failure.Cause' })] });
  });

  it('refuse an AwaitSignal payload without a task token', async () => {
    const handler = createAwaitSignalHandler(unused);
    await expect(handler({ run_id: 'run_1', checkpoint: 3 })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: 'task_token' })],
    });
  });

  it('give Advance the remaining time less a margin as its budget', () => {
    expect(advanceBudgetMs({ getRemainingTimeInMillis: () => 300_000 })).toBe(240_000);
    expect(advanceBudgetMs({ getRemainingTimeInMillis: () => 30_000 })).toBe(1_000);
  });
});
