/**
 * EventBridge Scheduler expressions (CONTRACT §6, the `schedule` listener's `match`): parsed,
 * checked and evaluated in one pure module, over `Intl.DateTimeFormat` for the time zones, so the
 * local scheduler loop and the API's `next_fire_at` agree with the schedules CDK creates.
 *
 * - `cron(minutes hours day-of-month month day-of-week year)`: six fields, evaluated as wall-clock
 *   times in the schedule's time zone. `,` lists, `-` ranges (wrapping, except years), `/` steps
 *   (`0/15`, `*\/15`, `10-50/20`), `*`, and names (`JAN`–`DEC`, `SUN`–`SAT`; day 1 is Sunday).
 *   Day-of-month also takes `?`, `L` (last day), `nW` (the weekday nearest day n, within the
 *   month) and `LW`; day-of-week takes `?`, `L` (Saturday, the week's last day), `nL` (the month's
 *   last day n) and `n#k` (the k-th day n). One of the two day fields must be `?`.
 * - `rate(n minute|minutes|hour|hours|day|days)`: a fixed period of elapsed time (the time zone does
 *   not move it); singular for 1, plural above, as AWS requires.
 * - `at(yyyy-mm-ddThh:mm:ss)`: once, at that wall-clock time in the time zone.
 *
 * Daylight saving time, as Scheduler does it: a wall-clock time that does not exist (spring forward)
 * is skipped, not moved; a wall-clock time that happens twice (fall back) fires once, at its first
 * occurrence.
 */

/** A problem with a schedule: `expression` or `timezone`, and what. */
export interface ScheduleProblem {
  path: 'expression' | 'timezone';
  message: string;
}

export type Schedule =
  | { kind: 'cron'; cron: CronSchedule }
  | { kind: 'rate'; periodMs: number }
  | { kind: 'at'; wallMs: number };

export interface CronSchedule {
  minutes: boolean[];
  hours: boolean[];
  months: boolean[];
  /** Indexed by year − FIRST_YEAR. */
  years: boolean[];
  days: DayRule;
}

type DayRule =
  | { field: 'month'; days: boolean[]; last: boolean; lastWeekday: boolean; nearestWeekday: number[] }
  | { field: 'week'; days: boolean[]; last: number[]; nth: Array<[number, number]> };

const FIRST_YEAR = 1970;
const LAST_YEAR = 2199;
const MINUTE = 60_000;
const DAY = 86_400_000;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const UNITS: Record<string, number> = { minute: MINUTE, hour: 60 * MINUTE, day: DAY };

// ---------------------------------------------------------------------------------------------
// Parsing and checking

/** Parses an expression, or says what is wrong with it (the time zone is not looked at). */
export function parseSchedule(expression: string): { schedule: Schedule } | { problem: string } {
  if (typeof expression !== 'string') return { problem: 'the expression must be a string' };
  const text = expression.trim();
  const call = /^(cron|rate|at)\((.*)\)$/s.exec(text);
  if (!call) return { problem: 'use cron(...), rate(...) or at(...)' };
  const [, kind, body] = call as unknown as [string, string, string];
  if (kind === 'rate') return parseRate(body.trim());
  if (kind === 'at') return parseAt(body.trim());
  try {
    return { schedule: { kind: 'cron', cron: parseCron(body.trim()) } };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}

/** Every problem with an expression and its time zone; empty when Scheduler would accept them. */
export function checkSchedule(expression: string, timeZone = 'UTC'): ScheduleProblem[] {
  const problems: ScheduleProblem[] = [];
  const parsed = parseSchedule(expression);
  if ('problem' in parsed) problems.push({ path: 'expression', message: parsed.problem });
  const zoneOk = isTimeZone(timeZone);
  if (!zoneOk)
    problems.push({
      path: 'timezone',
      message: `unknown time zone ${JSON.stringify(timeZone)}; use an IANA name such as Europe/Berlin`,
    });
  if ('schedule' in parsed && zoneOk && parsed.schedule.kind === 'at') {
    if (resolveLocal(parsed.schedule.wallMs, timeZone) === null)
      problems.push({
        path: 'expression',
        message: `${expression.trim()} does not exist in ${timeZone} (a daylight saving change skips it)`,
      });
  }
  return problems;
}

/** Whether `timeZone` names an IANA time zone this runtime knows (offsets like +02:00 are not). */
export function isTimeZone(timeZone: unknown): timeZone is string {
  if (typeof timeZone !== 'string' || !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(timeZone)) return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

function parseRate(body: string): { schedule: Schedule } | { problem: string } {
  const match = /^(\d+)\s+([a-z]+)$/.exec(body);
  if (!match) return { problem: 'use rate(value unit), e.g. rate(5 minutes)' };
  const value = Number(match[1]);
  const word = match[2]!;
  const unit = word.endsWith('s') ? word.slice(0, -1) : word;
  const period = UNITS[unit];
  if (period === undefined)
    return { problem: `unknown rate unit "${word}"; use minute(s), hour(s) or day(s)` };
  if (value < 1 || !Number.isSafeInteger(value)) return { problem: 'a rate must be a positive whole number' };
  if (value === 1 && word !== unit) return { problem: `write rate(1 ${unit}): the unit is singular for 1` };
  if (value > 1 && word === unit)
    return { problem: `write rate(${value} ${unit}s): the unit is plural above 1` };
  return { schedule: { kind: 'rate', periodMs: value * period } };
}

function parseAt(body: string): { schedule: Schedule } | { problem: string } {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(body);
  if (!match) return { problem: 'use at(yyyy-mm-ddThh:mm:ss), e.g. at(2030-01-31T09:00:00)' };
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysIn(year, month) ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  )
    return { problem: `${body} is not a date and time` };
  return { schedule: { kind: 'at', wallMs: Date.UTC(year, month - 1, day, hour, minute, second) } };
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: string[];
  wrap: boolean;
  step: boolean;
}

const FIELDS: Record<string, FieldSpec> = {
  minutes: { name: 'minutes', min: 0, max: 59, wrap: true, step: true },
  hours: { name: 'hours', min: 0, max: 23, wrap: true, step: true },
  dom: { name: 'day-of-month', min: 1, max: 31, wrap: true, step: true },
  month: { name: 'month', min: 1, max: 12, names: MONTHS, wrap: true, step: true },
  dow: { name: 'day-of-week', min: 1, max: 7, names: WEEKDAYS, wrap: true, step: false },
  year: { name: 'year', min: FIRST_YEAR, max: LAST_YEAR, wrap: false, step: true },
};

function parseCron(body: string): CronSchedule {
  const parts = body.split(/\s+/);
  if (parts.length !== 6)
    throw new Error(
      `cron takes six fields (minutes hours day-of-month month day-of-week year); found ${parts.length}`,
    );
  const [minutes, hours, dom, month, dow, year] = parts as [string, string, string, string, string, string];
  if ((dom === '?') === (dow === '?'))
    throw new Error(
      'one of day-of-month and day-of-week must be "?", and only one: use "?" in the field you do not restrict',
    );
  return {
    minutes: parseList(minutes, FIELDS.minutes!),
    hours: parseList(hours, FIELDS.hours!),
    months: parseList(month, FIELDS.month!),
    years: parseList(year, FIELDS.year!).slice(FIRST_YEAR),
    days: dom === '?' ? parseWeekDays(dow) : parseMonthDays(dom),
  };
}

/** A plain field: `*`, values, ranges and steps, comma-separated. */
function parseList(text: string, spec: FieldSpec, special?: (item: string) => boolean): boolean[] {
  const set = new Array<boolean>(spec.max + 1).fill(false);
  for (const item of text.split(',')) {
    if (special?.(item)) continue;
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined || range === undefined) throw fieldError(spec, item);
    let step = 1;
    if (stepText !== undefined) {
      if (!spec.step) throw new Error(`${spec.name} does not take "/" steps`);
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw fieldError(spec, item);
      step = Number(stepText);
    }
    let low: number;
    let high: number;
    if (range === '*') {
      low = spec.min;
      high = spec.max;
    } else if (range.includes('-')) {
      const [from, to, more] = range.split('-');
      if (more !== undefined) throw fieldError(spec, item);
      low = fieldValue(from!, spec, item);
      high = fieldValue(to!, spec, item);
      if (low > high && !spec.wrap) throw new Error(`${spec.name}: the range ${range} runs backwards`);
    } else {
      low = fieldValue(range, spec, item);
      high = stepText === undefined ? low : spec.max;
    }
    const span = low <= high ? high - low : spec.max - low + 1 + high - spec.min;
    for (let offset = 0; offset <= span; offset += step) {
      const value = low + offset;
      set[value > spec.max ? value - spec.max - 1 + spec.min : value] = true;
    }
  }
  return set;
}

function fieldValue(text: string, spec: FieldSpec, item: string): number {
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index >= 0) return index + 1;
  if (!/^\d+$/.test(text)) throw fieldError(spec, item);
  const value = Number(text);
  if (value < spec.min || value > spec.max)
    throw new Error(`${spec.name}: ${value} is outside ${spec.min}-${spec.max}`);
  return value;
}

function fieldError(spec: FieldSpec, item: string): Error {
  const names = spec.names ? ` or ${spec.names[0]}-${spec.names[spec.names.length - 1]}` : '';
  return new Error(
    `${spec.name}: cannot read "${item}" (use ${spec.min}-${spec.max}${names}, *, lists, ranges${spec.step ? ', steps' : ''})`,
  );
}

function parseMonthDays(text: string): DayRule {
  const rule = { field: 'month' as const, last: false, lastWeekday: false, nearestWeekday: [] as number[] };
  const days = parseList(text, FIELDS.dom!, (item) => {
    const upper = item.toUpperCase();
    if (upper === 'L') rule.last = true;
    else if (upper === 'LW') rule.lastWeekday = true;
    else if (/^\d+W$/.test(upper)) {
      const day = Number(upper.slice(0, -1));
      if (day < 1 || day > 31) throw new Error(`day-of-month: ${item} names no day`);
      rule.nearestWeekday.push(day);
    } else return false;
    return true;
  });
  return { ...rule, days };
}

function parseWeekDays(text: string): DayRule {
  const rule = { field: 'week' as const, last: [] as number[], nth: [] as Array<[number, number]> };
  const spec = FIELDS.dow!;
  const days = parseList(text, spec, (item) => {
    const upper = item.toUpperCase();
    if (upper === 'L') return true;
    const last = /^(.+)L$/.exec(upper);
    if (last) {
      rule.last.push(fieldValue(last[1]!, spec, item));
      return true;
    }
    const nth = /^(.+)#(\d+)$/.exec(upper);
    if (nth) {
      const k = Number(nth[2]);
      if (k < 1 || k > 5) throw new Error(`day-of-week: in ${item}, the week number after # is 1 to 5`);
      rule.nth.push([fieldValue(nth[1]!, spec, item), k]);
      return true;
    }
    return false;
  });
  if (text.split(',').some((item) => item.toUpperCase() === 'L')) days[7] = true;
  return { ...rule, days };
}

// ---------------------------------------------------------------------------------------------
// Evaluating

export interface NextFireOptions {
  /**
   * For `rate()`: when the schedule started; it fires at start + k × period (k ≥ 1). Without it,
   * the next fire is one period after `after` (pass the last fire time to keep the rhythm).
   */
  start?: Date;
}

/**
 * The first time strictly after `after` at which the schedule fires in `timeZone`, or null when it
 * never will again (an `at()` in the past, a cron whose years are over). Throws a TypeError on an
 * expression or time zone `checkSchedule` rejects.
 */
export function nextFireTime(
  expression: string | Schedule,
  after: Date,
  timeZone = 'UTC',
  options: NextFireOptions = {},
): Date | null {
  const schedule = typeof expression === 'string' ? parseOrThrow(expression) : expression;
  if (!isTimeZone(timeZone)) throw new TypeError(`unknown time zone ${JSON.stringify(timeZone)}`);
  const afterMs = after.getTime();
  if (Number.isNaN(afterMs)) throw new TypeError('after must be a valid Date');
  switch (schedule.kind) {
    case 'rate': {
      const start = options.start?.getTime();
      if (start === undefined) return new Date(afterMs + schedule.periodMs);
      const periods = afterMs < start ? 1 : Math.floor((afterMs - start) / schedule.periodMs) + 1;
      return new Date(start + periods * schedule.periodMs);
    }
    case 'at': {
      const at = resolveLocal(schedule.wallMs, timeZone);
      return at !== null && at > afterMs ? new Date(at) : null;
    }
    default:
      return nextCron(schedule.cron, afterMs, timeZone);
  }
}

/** The next `count` fire times after `after` (for previews and tests). */
export function nextFireTimes(
  expression: string,
  after: Date,
  count: number,
  timeZone = 'UTC',
  options: NextFireOptions = {},
): Date[] {
  const schedule = parseOrThrow(expression);
  const times: Date[] = [];
  let from = after;
  for (let index = 0; index < count; index += 1) {
    const next = nextFireTime(schedule, from, timeZone, schedule.kind === 'rate' ? options : {});
    if (next === null) break;
    times.push(next);
    from = next;
  }
  return times;
}

function parseOrThrow(expression: string): Schedule {
  const parsed = parseSchedule(expression);
  if ('problem' in parsed)
    throw new TypeError(`invalid schedule ${JSON.stringify(expression)}: ${parsed.problem}`);
  return parsed.schedule;
}

function nextCron(cron: CronSchedule, afterMs: number, timeZone: string): Date | null {
  // Any instant after `afterMs` shows a wall-clock time at least afterMs + the smallest offset in
  // force around it, so earlier wall times need not be converted.
  const lowestOffset = Math.min(
    offsetAt(afterMs - DAY, timeZone),
    offsetAt(afterMs, timeZone),
    offsetAt(afterMs + DAY, timeZone),
  );
  const threshold = afterMs + lowestOffset - MINUTE;
  const start = new Date(threshold);
  const startYear = start.getUTCFullYear();
  const minutes = indexes(cron.minutes);
  const hours = indexes(cron.hours);
  for (let year = Math.max(startYear, FIRST_YEAR); year <= LAST_YEAR; year += 1) {
    if (!cron.years[year - FIRST_YEAR]) continue;
    for (let month = 1; month <= 12; month += 1) {
      if (!cron.months[month]) continue;
      if (Date.UTC(year, month, 1) <= threshold) continue;
      const length = daysIn(year, month);
      for (let day = 1; day <= length; day += 1) {
        if (Date.UTC(year, month - 1, day + 1) <= threshold) continue;
        if (!dayMatches(cron.days, year, month, day, length)) continue;
        for (const hour of hours) {
          for (const minute of minutes) {
            const wall = Date.UTC(year, month - 1, day, hour, minute);
            if (wall < threshold) continue;
            const instant = resolveLocal(wall, timeZone);
            if (instant !== null && instant > afterMs) return new Date(instant);
          }
        }
      }
    }
  }
  return null;
}

function dayMatches(rule: DayRule, year: number, month: number, day: number, length: number): boolean {
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
  if (rule.field === 'week') {
    if (rule.days[weekday]) return true;
    if (rule.last.includes(weekday) && day + 7 > length) return true;
    return rule.nth.some(([target, k]) => target === weekday && Math.ceil(day / 7) === k);
  }
  if (rule.days[day]) return true;
  if (rule.last && day === length) return true;
  if (rule.lastWeekday && day === nearestWeekday(year, month, length, length)) return true;
  return rule.nearestWeekday.some(
    (target) => target <= length && nearestWeekday(year, month, target, length) === day,
  );
}

/** The weekday (Monday–Friday) nearest `target`, without leaving the month. */
function nearestWeekday(year: number, month: number, target: number, length: number): number {
  const weekday = new Date(Date.UTC(year, month - 1, target)).getUTCDay();
  if (weekday === 6) return target === 1 ? 3 : target - 1;
  if (weekday === 0) return target === length ? target - 2 : target + 1;
  return target;
}

function indexes(set: boolean[]): number[] {
  const out: number[] = [];
  set.forEach((on, index) => {
    if (on) out.push(index);
  });
  return out;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

// ---------------------------------------------------------------------------------------------
// Time zones over Intl

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The zone's offset from UTC at `instant`, in milliseconds (wall clock = instant + offset). */
export function offsetAt(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const wall = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

/**
 * The instant at which the wall-clock time `wall` (as if it were UTC) happens in `timeZone`: null
 * when a daylight saving change skips it, the first of the two when it happens twice.
 */
export function resolveLocal(wall: number, timeZone: string): number | null {
  const candidates = new Set([wall - offsetAt(wall - DAY, timeZone), wall - offsetAt(wall + DAY, timeZone)]);
  let best: number | null = null;
  for (const instant of candidates) {
    if (instant + offsetAt(instant, timeZone) === wall && (best === null || instant < best)) best = instant;
  }
  return best;
}
