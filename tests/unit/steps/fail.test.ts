import { describe, expect, it } from 'vitest';
import { fail } from '../../../shared/steps/fail.js';
import { execute } from './context.js';

describe('fail.execute', () => {
  it('fails with the chosen code and message, never retried', async () => {
    const { result } = await execute(fail, {
      error: 'ApprovalTimeout',
      message: 'Nobody reviewed the draft in time',
    });
    expect(result).toEqual({
      status: 'failed',
      error: { code: 'ApprovalTimeout', message: 'Nobody reviewed the draft in time', retryable: false },
    });
  });

  it('says where the run failed when there is no message', async () => {
    const { result } = await execute(fail, { error: 'GaveUp' }, { step: { id: 'give_up' } });
    expect(result).toMatchObject({
      error: { code: 'GaveUp', message: "The workflow failed at step 'give_up' with GaveUp" },
    });
  });

  it('has no outcomes', () => {
    expect(fail.outcomes({ error: 'X' })).toEqual([]);
  });
});
