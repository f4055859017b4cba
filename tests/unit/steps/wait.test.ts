import { describe, expect, it } from 'vitest';
import { parseIsoTime, wait } from '../../../shared/steps/wait.js';
import { execute, NOW } from './context.js';

const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

describe('wait.execute', () => {
  it('waits a number of seconds as a timer that ends with success', async () => {
    const { result } = await execute(wait, { seconds: 90 });
    expect(result).toEqual({
      status: 'waiting',
      wait: {
        kind: 'timer',
        until: at(90_000),
        timeout_outcome: 'success',
        timeout_output: { waited_until: at(90_000) },
      },
    });
  });

  it('waits until a time, normalised to UTC', async () => {
    const { result } = await execute(wait, { until: '2026-03-01T14:30:00+01:00' });
    expect(result).toMatchObject({ wait: { until: '2026-03-01T13:30:00.000Z' } });
  });

  it('completes at once for a time that has passed, and for zero seconds', async () => {
    const past = await execute(wait, { until: '2020-01-01T00:00:00Z' });
    expect(past.result).toEqual({
      status: 'completed',
      outcome: 'success',
      output: { waited_until: NOW.toISOString() },
    });
    expect((await execute(wait, { seconds: 0 })).result).toMatchObject({ status: 'completed' });
  });

  it.each([
    { until: 'tomorrow' },
    { until: '2026-02-30T00:00:00Z' },
    { until: 'March 7, 2030' },
    { seconds: '{{ inputs.delay }}' },
  ])('fails %o with InvalidWaitTime, not retried', async (config) => {
    await expect(execute(wait, config)).rejects.toMatchObject({ code: 'InvalidWaitTime', retryable: false });
  });
});

describe('wait.check', () => {
  it('refuses an until written as a time that is not ISO-8601, and leaves placeholders to the run', () => {
    expect(wait.check!({ until: 'tomorrow' })).toEqual([
      { path: 'until', message: "until 'tomorrow' is not an ISO-8601 time such as 2030-01-31T09:00:00Z" },
    ]);
    expect(wait.check!({ until: '2026-02-30T00:00:00Z' })).toHaveLength(1);
    expect(wait.check!({ until: '2030-01-31T09:00:00Z' })).toEqual([]);
    expect(wait.check!({ until: '{{ inputs.when }}' })).toEqual([]);
    expect(wait.check!({ seconds: 5 })).toEqual([]);
  });
});

describe('wait: reading ISO-8601 times', () => {
  it.each([
    ['2030-01-31', '2030-01-31T00:00:00.000Z'],
    ['2030-01-31T09:00', '2030-01-31T09:00:00.000Z'],
    ['2030-01-31T09:00:05Z', '2030-01-31T09:00:05.000Z'],
    ['2030-01-31T09:00:05.123456Z', '2030-01-31T09:00:05.123Z'],
    ['2030-01-31 09:00:05-0230', '2030-01-31T11:30:05.000Z'],
    ['2030-01-31T09:00:05+02', '2030-01-31T07:00:05.000Z'],
    ['2028-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseIsoTime(text)?.toISOString()).toBe(iso);
  });

  it.each(['2030-13-01', '2030-01-31T24:00', '2029-02-29', '2030-01-31T09:00+25:00', '31/01/2030', ''])(
    'refuses %s',
    (text) => {
      expect(parseIsoTime(text)).toBeUndefined();
    },
  );
});
