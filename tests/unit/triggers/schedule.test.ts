/**
 * EventBridge Scheduler expressions: next fire times, with the clock passed in (no timers), across
 * the daylight saving changes of three time zones (a wall-clock time the change skips is skipped, a
 * repeated one fires once, at its first occurrence), `L`, `W`, `#`, rate, at, and the problems
 * `checkSchedule` reports.
 */
import { describe, expect, it } from 'vitest';
import { checkSchedule, isTimeZone, nextFireTime, nextFireTimes } from '../../../shared/triggers/schedule.js';

const iso = (dates: Date[]) => dates.map((date) => date.toISOString().replace('.000', ''));
const next = (expression: string, after: string, timeZone = 'UTC', count = 3) =>
  iso(nextFireTimes(expression, new Date(after), count, timeZone));

describe('cron across daylight saving changes', () => {
  it.each<[string, string, string, string, string[]]>([
    // America/New_York: 2025-03-09 02:00 EST → 03:00 EDT; 2025-11-02 02:00 EDT → 01:00 EST.
    [
      'New York: 02:30 daily skips the spring-forward day',
      'America/New_York',
      'cron(30 2 * * ? *)',
      '2025-03-08T12:00:00Z',
      ['2025-03-10T06:30:00Z', '2025-03-11T06:30:00Z', '2025-03-12T06:30:00Z'],
    ],
    [
      'New York: 03:00 on the spring-forward day exists',
      'America/New_York',
      'cron(0 3 * * ? *)',
      '2025-03-08T12:00:00Z',
      ['2025-03-09T07:00:00Z', '2025-03-10T07:00:00Z', '2025-03-11T07:00:00Z'],
    ],
    [
      'New York: 01:30 fires once on the fall-back day',
      'America/New_York',
      'cron(30 1 * * ? *)',
      '2025-11-01T12:00:00Z',
      ['2025-11-02T05:30:00Z', '2025-11-03T06:30:00Z', '2025-11-04T06:30:00Z'],
    ],
    [
      'New York: every 30 minutes of hour 1, once each',
      'America/New_York',
      'cron(0/30 1 * * ? *)',
      '2025-11-02T04:00:00Z',
      ['2025-11-02T05:00:00Z', '2025-11-02T05:30:00Z', '2025-11-03T06:00:00Z'],
    ],
    [
      'New York: hourly through the gap',
      'America/New_York',
      'cron(0 * * * ? *)',
      '2025-03-09T05:30:00Z',
      ['2025-03-09T06:00:00Z', '2025-03-09T07:00:00Z', '2025-03-09T08:00:00Z'],
    ],
    [
      'New York: hourly through the repeated hour',
      'America/New_York',
      'cron(0 * * * ? *)',
      '2025-11-02T04:30:00Z',
      ['2025-11-02T05:00:00Z', '2025-11-02T07:00:00Z', '2025-11-02T08:00:00Z'],
    ],
    // Europe/Berlin: 2025-03-30 02:00 CET → 03:00 CEST; 2025-10-26 03:00 CEST → 02:00 CET.
    [
      'Berlin: 02:30 daily skips the spring-forward day',
      'Europe/Berlin',
      'cron(30 2 * * ? *)',
      '2025-03-29T12:00:00Z',
      ['2025-03-31T00:30:00Z', '2025-04-01T00:30:00Z', '2025-04-02T00:30:00Z'],
    ],
    [
      'Berlin: 02:30 fires once on the fall-back day',
      'Europe/Berlin',
      'cron(30 2 * * ? *)',
      '2025-10-25T12:00:00Z',
      ['2025-10-26T00:30:00Z', '2025-10-27T01:30:00Z', '2025-10-28T01:30:00Z'],
    ],
    [
      'Berlin: 09:00 on weekdays keeps local time over the change',
      'Europe/Berlin',
      'cron(0 9 ? * MON-FRI *)',
      '2025-03-28T09:00:00Z',
      ['2025-03-31T07:00:00Z', '2025-04-01T07:00:00Z', '2025-04-02T07:00:00Z'],
    ],
    // Australia/Sydney: 2025-04-06 03:00 AEDT → 02:00 AEST; 2025-10-05 02:00 AEST → 03:00 AEDT.
    [
      'Sydney: 02:30 fires once on the fall-back day',
      'Australia/Sydney',
      'cron(30 2 * * ? *)',
      '2025-04-04T00:00:00Z',
      ['2025-04-04T15:30:00Z', '2025-04-05T15:30:00Z', '2025-04-06T16:30:00Z'],
    ],
    [
      'Sydney: 02:30 daily skips the spring-forward day',
      'Australia/Sydney',
      'cron(30 2 * * ? *)',
      '2025-10-04T00:00:00Z',
      ['2025-10-05T15:30:00Z', '2025-10-06T15:30:00Z', '2025-10-07T15:30:00Z'],
    ],
    [
      'Sydney: every 15 minutes across the gap',
      'Australia/Sydney',
      'cron(0/15 * * * ? *)',
      '2025-10-04T15:40:00Z',
      ['2025-10-04T15:45:00Z', '2025-10-04T16:00:00Z', '2025-10-04T16:15:00Z'],
    ],
  ])('%s', (_name, timeZone, expression, after, expected) => {
    expect(next(expression, after, timeZone)).toEqual(expected);
  });

  it('fires once in a repeated hour even when asked from between the two occurrences', () => {
    // 05:30Z is 01:30 EDT; 06:15Z is 01:15 EST, the hour again: 01:30 must not fire a second time.
    expect(
      iso([nextFireTime('cron(30 1 * * ? *)', new Date('2025-11-02T06:15:00Z'), 'America/New_York')!]),
    ).toEqual(['2025-11-03T06:30:00Z']);
  });
});

describe('cron fields', () => {
  it.each<[string, string, string, string[]]>([
    [
      'every 10 minutes',
      'cron(0/10 * * * ? *)',
      '2025-01-01T00:05:00Z',
      ['2025-01-01T00:10:00Z', '2025-01-01T00:20:00Z', '2025-01-01T00:30:00Z'],
    ],
    [
      '*/20 steps from the field start',
      'cron(*/20 8 * * ? *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-01T08:00:00Z', '2025-01-01T08:20:00Z', '2025-01-01T08:40:00Z'],
    ],
    [
      'a range with a step',
      'cron(10-50/20 8 * * ? *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-01T08:10:00Z', '2025-01-01T08:30:00Z', '2025-01-01T08:50:00Z'],
    ],
    [
      'lists of hours',
      'cron(0 8,12,17 * * ? *)',
      '2025-01-01T09:00:00Z',
      ['2025-01-01T12:00:00Z', '2025-01-01T17:00:00Z', '2025-01-02T08:00:00Z'],
    ],
    [
      '10:15 every day (AWS example)',
      'cron(15 10 * * ? *)',
      '2025-01-01T11:00:00Z',
      ['2025-01-02T10:15:00Z', '2025-01-03T10:15:00Z', '2025-01-04T10:15:00Z'],
    ],
    [
      '18:00 Monday to Friday (AWS example)',
      'cron(0 18 ? * MON-FRI *)',
      '2025-01-03T19:00:00Z',
      ['2025-01-06T18:00:00Z', '2025-01-07T18:00:00Z', '2025-01-08T18:00:00Z'],
    ],
    [
      '08:00 on the first of the month (AWS example)',
      'cron(0 8 1 * ? *)',
      '2025-01-01T09:00:00Z',
      ['2025-02-01T08:00:00Z', '2025-03-01T08:00:00Z', '2025-04-01T08:00:00Z'],
    ],
    [
      'month names and a year',
      'cron(0 0 1 JAN,JUL ? 2026)',
      '2025-01-01T00:00:00Z',
      ['2026-01-01T00:00:00Z', '2026-07-01T00:00:00Z'],
    ],
    [
      'day names are case-insensitive',
      'cron(0 12 ? * sun *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-05T12:00:00Z', '2025-01-12T12:00:00Z', '2025-01-19T12:00:00Z'],
    ],
    [
      'day 1 is Sunday',
      'cron(0 12 ? * 1 *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-05T12:00:00Z', '2025-01-12T12:00:00Z', '2025-01-19T12:00:00Z'],
    ],
    [
      'a week range that wraps: FRI-MON',
      'cron(0 12 ? * FRI-MON *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-03T12:00:00Z', '2025-01-04T12:00:00Z', '2025-01-05T12:00:00Z'],
    ],
    [
      'L: the last day of the month',
      'cron(0 10 L * ? *)',
      '2024-01-31T11:00:00Z',
      ['2024-02-29T10:00:00Z', '2024-03-31T10:00:00Z', '2024-04-30T10:00:00Z'],
    ],
    [
      'LW: the last weekday of the month',
      'cron(0 10 LW * ? *)',
      '2025-05-01T00:00:00Z',
      ['2025-05-30T10:00:00Z', '2025-06-30T10:00:00Z', '2025-07-31T10:00:00Z'],
    ],
    [
      '15W: the weekday nearest the 15th',
      'cron(0 10 15W * ? *)',
      '2025-02-01T00:00:00Z',
      ['2025-02-14T10:00:00Z', '2025-03-14T10:00:00Z', '2025-04-15T10:00:00Z'],
    ],
    [
      '1W on a Saturday moves to Monday the 3rd',
      'cron(0 10 1W * ? *)',
      '2025-02-15T00:00:00Z',
      ['2025-03-03T10:00:00Z', '2025-04-01T10:00:00Z', '2025-05-01T10:00:00Z'],
    ],
    [
      '31W on a Sunday moves back to Friday',
      'cron(0 10 31W * ? *)',
      '2025-08-01T00:00:00Z',
      ['2025-08-29T10:00:00Z', '2025-10-31T10:00:00Z', '2025-12-31T10:00:00Z'],
    ],
    [
      '6L: the last Friday of the month',
      'cron(0 10 ? * 6L *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-31T10:00:00Z', '2025-02-28T10:00:00Z', '2025-03-28T10:00:00Z'],
    ],
    [
      'L in day-of-week: Saturday',
      'cron(0 10 ? * L *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-04T10:00:00Z', '2025-01-11T10:00:00Z', '2025-01-18T10:00:00Z'],
    ],
    [
      '2#1: the first Monday',
      'cron(0 10 ? * 2#1 *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-06T10:00:00Z', '2025-02-03T10:00:00Z', '2025-03-03T10:00:00Z'],
    ],
    [
      'MON#3: the third Monday',
      'cron(0 10 ? * MON#3 *)',
      '2025-01-01T00:00:00Z',
      ['2025-01-20T10:00:00Z', '2025-02-17T10:00:00Z', '2025-03-17T10:00:00Z'],
    ],
    [
      '29 February only in leap years',
      'cron(0 0 29 2 ? *)',
      '2025-01-01T00:00:00Z',
      ['2028-02-29T00:00:00Z', '2032-02-29T00:00:00Z', '2036-02-29T00:00:00Z'],
    ],
  ])('%s', (_name, expression, after, expected) => {
    expect(next(expression, after)).toEqual(expected);
  });

  it('is strictly after the given time', () => {
    expect(nextFireTime('cron(0 10 * * ? *)', new Date('2025-01-01T10:00:00Z'))?.toISOString()).toBe(
      '2025-01-02T10:00:00.000Z',
    );
  });

  it('returns null when the years are over', () => {
    expect(nextFireTime('cron(0 10 * * ? 2020)', new Date('2025-01-01T00:00:00Z'))).toBeNull();
  });
});

describe('rate and at', () => {
  it('rate without a start fires one period after the given time', () => {
    expect(next('rate(5 minutes)', '2025-01-01T00:00:30Z')).toEqual([
      '2025-01-01T00:05:30Z',
      '2025-01-01T00:10:30Z',
      '2025-01-01T00:15:30Z',
    ]);
  });

  it('rate keeps the rhythm of its start', () => {
    const start = new Date('2025-01-01T00:00:00Z');
    expect(
      nextFireTime('rate(1 hour)', new Date('2025-01-01T05:20:00Z'), 'UTC', { start })?.toISOString(),
    ).toBe('2025-01-01T06:00:00.000Z');
    expect(
      nextFireTime('rate(1 hour)', new Date('2025-01-01T06:00:00Z'), 'UTC', { start })?.toISOString(),
    ).toBe('2025-01-01T07:00:00.000Z');
    expect(
      nextFireTime('rate(2 days)', new Date('2024-12-01T00:00:00Z'), 'UTC', { start })?.toISOString(),
    ).toBe('2025-01-03T00:00:00.000Z');
  });

  it('rate counts elapsed time, not wall-clock time, across a change', () => {
    const start = new Date('2025-03-08T12:00:00Z');
    expect(
      nextFireTime('rate(1 day)', new Date('2025-03-09T00:00:00Z'), 'America/New_York', {
        start,
      })?.toISOString(),
    ).toBe('2025-03-09T12:00:00.000Z');
  });

  it('at fires once, at its wall-clock time in the zone', () => {
    expect(next('at(2025-06-01T09:00:00)', '2025-01-01T00:00:00Z', 'Europe/Berlin')).toEqual([
      '2025-06-01T07:00:00Z',
    ]);
    expect(next('at(2025-06-01T09:00:00)', '2025-01-01T00:00:00Z', 'Australia/Sydney')).toEqual([
      '2025-05-31T23:00:00Z',
    ]);
    expect(
      nextFireTime('at(2025-06-01T09:00:00)', new Date('2025-06-01T07:00:00Z'), 'Europe/Berlin'),
    ).toBeNull();
  });

  it('at in a repeated hour fires at the first occurrence; in a skipped one never', () => {
    expect(next('at(2025-11-02T01:30:00)', '2025-01-01T00:00:00Z', 'America/New_York')).toEqual([
      '2025-11-02T05:30:00Z',
    ]);
    expect(next('at(2025-03-09T02:30:00)', '2025-01-01T00:00:00Z', 'America/New_York')).toEqual([]);
  });
});

describe('checkSchedule', () => {
  it.each([
    ['cron(0 10 * * ? *)', 'UTC'],
    ['cron(0/15 8-17 ? * MON-FRI *)', 'America/New_York'],
    ['cron(0 10 L * ? 2025-2030)', 'Europe/Berlin'],
    ['cron(0 10 ? * 6#3 *)', 'Australia/Sydney'],
    ['rate(1 minute)', 'UTC'],
    ['rate(15 minutes)', 'UTC'],
    ['rate(1 day)', 'UTC'],
    ['at(2030-01-31T09:00:00)', 'Asia/Tokyo'],
  ])('accepts %s in %s', (expression, timeZone) => {
    expect(checkSchedule(expression, timeZone)).toEqual([]);
  });

  it.each<[string, RegExp]>([
    ['cron(0 10 * * *)', /six fields/],
    ['cron(0 10 * * * *)', /must be "\?"/],
    ['cron(0 10 ? * ? *)', /must be "\?"/],
    ['cron(60 10 * * ? *)', /minutes: 60 is outside 0-59/],
    ['cron(0 24 * * ? *)', /hours: 24 is outside 0-23/],
    ['cron(0 10 32 * ? *)', /day-of-month: 32 is outside/],
    ['cron(0 10 * 13 ? *)', /month: 13 is outside/],
    ['cron(0 10 * FOO ? *)', /month: cannot read "FOO"/],
    ['cron(0 10 ? * 8 *)', /day-of-week: 8 is outside/],
    ['cron(0 10 ? * MON/2 *)', /does not take "\/" steps/],
    ['cron(0 10 ? * 2#6 *)', /week number/],
    ['cron(0 10 * * ? 1969)', /year: 1969 is outside/],
    ['cron(0 10 * * ? 2030-2025)', /runs backwards/],
    ['cron(0/0 10 * * ? *)', /minutes: cannot read/],
    ['cron(? 10 * * ? *)', /minutes: cannot read/],
    ['rate(0 minutes)', /positive/],
    ['rate(1 minutes)', /singular/],
    ['rate(5 minute)', /plural/],
    ['rate(5 weeks)', /unknown rate unit/],
    ['rate(five minutes)', /rate\(value unit\)/],
    ['at(2025-02-30T10:00:00)', /not a date/],
    ['at(2025-01-01 10:00)', /yyyy-mm-ddThh:mm:ss/],
    ['every day', /cron\(\.\.\.\)/],
  ])('rejects %s', (expression, message) => {
    expect(checkSchedule(expression)).toEqual([
      { path: 'expression', message: expect.stringMatching(message) },
    ]);
  });

  it('rejects an unknown time zone, and offsets', () => {
    expect(checkSchedule('rate(1 hour)', 'Mars/Olympus_Mons')).toEqual([
      { path: 'timezone', message: expect.stringMatching(/unknown time zone/) },
    ]);
    expect(isTimeZone('+02:00')).toBe(false);
    expect(isTimeZone('')).toBe(false);
    expect(isTimeZone('America/Argentina/Buenos_Aires')).toBe(true);
    expect(isTimeZone('Etc/GMT+5')).toBe(true);
  });

  it('rejects an at() time a daylight saving change skips', () => {
    expect(checkSchedule('at(2025-03-30T02:30:00)', 'Europe/Berlin')).toEqual([
      { path: 'expression', message: expect.stringMatching(/does not exist in Europe\/Berlin/) },
    ]);
  });

  it('nextFireTime throws on a bad expression or zone', () => {
    expect(() => nextFireTime('cron(bad)', new Date())).toThrow(TypeError);
    expect(() => nextFireTime('rate(1 hour)', new Date(), 'Nowhere/Land')).toThrow(/unknown time zone/);
  });
});
