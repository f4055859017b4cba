/** `wait`: a timer, for a number of seconds or until a time. */
import { z } from 'zod';
import { templated } from '../definition/schema.js';
import { StepError } from '../errors.js';
import { hasPlaceholder, renderedNumber } from './rendered.js';
import { defineStepType } from './types.js';

const MAX_WAIT_S = 31_536_000;

export const waitConfig = z.union([
  z.object({ seconds: templated(z.number().min(0).max(MAX_WAIT_S)) }).strict(),
  z
    .object({ until: z.string().min(1).meta({ description: 'An ISO-8601 time, may be templated.' }) })
    .strict(),
]);
export type WaitConfig = z.infer<typeof waitConfig>;

/** ISO-8601 extended format: a date, optionally a time (seconds and fraction optional), optionally an offset. */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Reads an ISO-8601 time. A date alone is midnight UTC, and a time without an offset is UTC too, so
 * a workflow means the same on every machine; fields out of range (`2024-02-30`) are refused.
 */
export function parseIsoTime(text: string): Date | undefined {
  const m = ISO_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : normalizeOffset(zone);
  if (offset === undefined) return undefined;
  const millis = fraction.padEnd(3, '0').slice(0, 3);
  const time = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${millis}${offset}`);
  return Number.isNaN(time) ? undefined : new Date(time);
}

function normalizeOffset(zone: string): string | undefined {
  const digits = zone.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2) || '0');
  if (hours > 23 || minutes > 59) return undefined;
  return `${zone[0]}${digits.slice(0, 2)}:${String(minutes).padStart(2, '0')}`;
}

function notIsoTime(until: string): string {
  return `until '${until}' is not an ISO-8601 time such as 2030-01-31T09:00:00Z`;
}

export const wait = defineStepType({
  type: 'wait',
  description: 'Waits a number of seconds or until a time; outcome `success`.',
  config: waitConfig,
  action: false,
  outcomes: () => ['success'],
  // A time written as it is is checked when the workflow is: `until: tomorrow` would otherwise be
  // found out only when a run reaches the step.
  check: (config) =>
    'until' in config && !hasPlaceholder(config.until) && parseIsoTime(config.until) === undefined
      ? [{ path: 'until', message: notIsoTime(config.until) }]
      : [],
  execute: async (ctx) => {
    const config = ctx.config;
    let target: Date;
    if ('seconds' in config) {
      const seconds = renderedNumber(config.seconds, 'seconds', {
        min: 0,
        max: MAX_WAIT_S,
        code: 'InvalidWaitTime',
      });
      target = new Date(ctx.now.getTime() + Math.round(seconds * 1000));
    } else {
      const until = parseIsoTime(config.until);
      if (!until) {
        throw new StepError('InvalidWaitTime', notIsoTime(config.until), { retryable: false });
      }
      target = until;
    }
    // A time that has passed (or is now) ends the wait at once; `waited_until` is then the present.
    if (target.getTime() <= ctx.now.getTime()) {
      return { status: 'completed', outcome: 'success', output: { waited_until: ctx.now.toISOString() } };
    }
    const until = target.toISOString();
    return {
      status: 'waiting',
      wait: { kind: 'timer', until, timeout_outcome: 'success', timeout_output: { waited_until: until } },
    };
  },
});
