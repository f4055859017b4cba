// The error a run fails with when its Advance kept failing: what Step Functions hands the Catch, read.
import { describe, expect, it } from 'vitest';
import { processSecrets } from '../../../shared/adapters/logger.js';
import { ADVANCE_FAILED, advanceFailedError } from '../../../shared/orchestration/advance-failure.js';

/** The part of the message that describes the error: between the first parenthesis and the last. */
function described(failure: Parameters<typeof advanceFailedError>[0]): string {
  const { code, message } = advanceFailedError(failure);
  expect(code).toBe(ADVANCE_FAILED);
  expect(message).toMatch(/^Flowrunner could not advance this run \(.*\), also when it tried again/s);
  expect(message).toMatch(/so the run was failed rather than left running$/);
  return message.slice(message.indexOf('(') + 1, message.lastIndexOf('), also'));
}

/** Added to the process's redactor (as a resolved secret is) for this test file's process only. */
const SECRET = 'sk-live-advance-failure-0123456789';

describe('advanceFailedError', () => {
  it("reads Lambda's cause (the error as JSON) and leaves its stack out", () => {
    const cause = JSON.stringify({
      errorType: 'ConditionalCheckFailedException',
      errorMessage: 'The conditional request failed',
      trace: [
        'ConditionalCheckFailedException: The conditional request failed',
        '    at /var/task/index.mjs:1:1',
      ],
    });
    expect(described({ Error: 'ConditionalCheckFailedException', Cause: cause })).toBe(
      'ConditionalCheckFailedException: The conditional request failed',
    );
  });

  it("reads the local interpreter's cause (the message) and one that is no JSON object", () => {
    expect(described({ Error: 'TypeError', Cause: 'x is not a function' })).toBe(
      'TypeError: x is not a function',
    );
    expect(described({ Error: 'Error', Cause: '{not json' })).toBe('Error: {not json');
    expect(described({ Error: 'Error', Cause: '{"errorType":"Error"}' })).toBe(
      'Error: {"errorType":"Error"}',
    );
  });

  it('names a timeout, and an error without a name or cause', () => {
    expect(described({ Error: 'States.Timeout', Cause: '' })).toBe('States.Timeout: Advance ran out of time');
    expect(described({})).toBe('Error');
    expect(described({ Error: null, Cause: null })).toBe('Error');
  });

  it('redacts as a log line does: secrets the process holds, tokens, addresses', () => {
    processSecrets.add(SECRET);
    const text = described({
      Error: 'Error',
      Cause: `request with ${SECRET} for ana@example.com failed: Authorization: Bearer abc.def.ghi`,
    });
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain('ana@example.com');
    expect(text).not.toContain('abc.def.ghi');
    expect(text).toContain('[REDACTED]');
  });

  it('redacts before it cuts: a secret that the cut would split is not recognised afterwards', () => {
    processSecrets.add(SECRET);
    const text = described({ Error: 'Error', Cause: `${'x'.repeat(480)}${SECRET}` });
    expect(text).not.toContain(SECRET.slice(0, 10));
    expect(text).toContain('[REDACTED]');
  });

  it('keeps the first 500 characters of a long message', () => {
    const text = described({ Error: 'Error', Cause: 'x'.repeat(100_000) });
    expect(text).toBe(`Error: ${'x'.repeat(493)}…`);
  });
});
