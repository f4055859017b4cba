/**
 * The Scheduler cron evaluator against croner, an independent implementation, as an oracle
 * (TOOLCHAIN.md: croner 11 reads AWS's six fields with a leading "0 " for seconds, 7-part mode,
 * Sunday = 1, and `a/s` steps written `a-max/s`). Random expressions over every field, in time zones
 * without daylight saving time — where croner and Scheduler part ways (croner fires a skipped
 * 02:30 at 03:00; docs/triggers.md), which the table tests in schedule.test.ts pin down instead.
 */
import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextFireTimes } from '../../../shared/triggers/schedule.js';

const ZONES = ['UTC', 'Asia/Tokyo', 'Asia/Kolkata', 'America/Sao_Paulo', 'Pacific/Chatham'];

/** One field: `*`, a value, a range, a list, a step from a start; both spellings (AWS, croner). */
function field(
  min: number,
  max: number,
  names?: readonly string[],
  steps = true,
): fc.Arbitrary<[string, string]> {
  const value = fc.integer({ min, max });
  const named = (n: number) => (names ? fc.constantFrom(String(n), names[n - min]!) : fc.constant(String(n)));
  return fc.oneof(
    fc.constant<[string, string]>(['*', '*']),
    value.chain(named).map((v): [string, string] => [v, v]),
    fc
      .tuple(value, value)
      .filter(([a, b]) => a < b)
      .map(([a, b]): [string, string] => [`${a}-${b}`, `${a}-${b}`]),
    fc
      .uniqueArray(value, { minLength: 2, maxLength: 4 })
      .map((vs) => vs.join(','))
      .map((v): [string, string] => [v, v]),
    ...(steps
      ? [
          fc
            .tuple(value, fc.integer({ min: 2, max: Math.max(2, Math.floor((max - min) / 2)) }))
            .map(([a, s]): [string, string] => [`${a}/${s}`, `${a}-${max}/${s}`]),
        ]
      : []),
  );
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

type Pair = [string, string];
const ANY: Pair = ['?', '?'];
const days: fc.Arbitrary<[Pair, Pair]> = fc.oneof(
  // Day of month, any weekday.
  fc.oneof(field(1, 31), fc.constant<[string, string]>(['L', 'L'])).map((dom): [Pair, Pair] => [dom, ANY]),
  // Day of week (1 = Sunday), any day of month; or the k-th such day.
  fc
    .oneof(
      // Day-of-week takes no '/' steps in AWS's cron.
      field(1, 7, WEEKDAYS, false),
      fc
        .tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 4 }))
        .map(([d, k]): [string, string] => [`${d}#${k}`, `${d}#${k}`]),
    )
    .map((dow): [Pair, Pair] => [ANY, dow]),
);

const expression = fc
  .tuple(field(0, 59), field(0, 23), days, field(1, 12, MONTHS))
  .map(([minutes, hours, [dom, dow], month]) => ({
    aws: `cron(${minutes[0]} ${hours[0]} ${dom[0]} ${month[0]} ${dow[0]} *)`,
    croner: `0 ${minutes[1]} ${hours[1]} ${dom[1]} ${month[1]} ${dow[1]} *`,
  }));

describe('cron against croner, where both follow the same rules', () => {
  it('gives the same next five fire times', () => {
    fc.assert(
      fc.property(
        expression,
        fc.constantFrom(...ZONES),
        fc.date({
          min: new Date('2024-01-01T00:00:00Z'),
          max: new Date('2027-12-31T00:00:00Z'),
          noInvalidDate: true,
        }),
        (cron, zone, after) => {
          const ours = nextFireTimes(cron.aws, after, 5, zone).map((d) => d.toISOString());
          const oracle = new Cron(cron.croner, {
            mode: '7-part',
            alternativeWeekdays: true,
            timezone: zone,
            paused: true,
          })
            .nextRuns(5, after)
            .map((d) => d.toISOString());
          expect(ours, `${cron.aws} in ${zone} after ${after.toISOString()}`).toEqual(oracle);
        },
      ),
      { numRuns: 400, seed: 20261204 },
    );
  });
});
