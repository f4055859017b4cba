import { describe, expect, it } from 'vitest';
import { createAdvanceHandler, createAwaitSignalHandler } from '../../../functions/handlers.js';

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

  it('refuse an AwaitSignal payload without a task token', async () => {
    const handler = createAwaitSignalHandler(unused);
    await expect(handler({ run_id: 'run_1', checkpoint: 3 })).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: 'task_token' })],
    });
  });

  it('give Advance the remaining time less a margin as its budget', async () => {
    let budget = 0;
    const handler = createAdvanceHandler((budgetMs) => {
      budget = budgetMs;
      throw new Error('stop here');
    });
    await expect(
      handler({ run_id: 'run_1', generation: 0 }, { getRemainingTimeInMillis: () => 300_000 }),
    ).rejects.toThrow('stop here');
    expect(budget).toBe(240_000);
  });
});
