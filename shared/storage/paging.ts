/**
 * Page sizes, list orders and query scopes that the in-memory and DynamoDB stores share, so both
 * page, order and refuse exactly alike.
 */
import { type RunEvent, type RunState, RunStatus } from '../engine/types.js';
import { ValidationError } from '../errors.js';
import type { PageRequest, RunListQuery, RunSummary } from '../ports/index.js';
import { type CursorCodec, positionNumber } from './cursor.js';

export const DEFAULT_PAGE_LIMIT = 25;
export const MAX_PAGE_LIMIT = 100;
export const DEFAULT_EVENTS_LIMIT = 100;
export const MAX_EVENTS_LIMIT = 1000;

export function pageLimit(
  page: PageRequest | undefined,
  fallback = DEFAULT_PAGE_LIMIT,
  max = MAX_PAGE_LIMIT,
) {
  const limit = page?.limit ?? fallback;
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError(`limit must be an integer from 1 to ${max}`, [
      { path: 'limit', message: `must be an integer from 1 to ${max}` },
    ]);
  }
  return limit;
}

const STATUSES = new Set<string>(Object.values(RunStatus));
export const ALL_RUN_STATUSES = Object.values(RunStatus) as RunStatus[];

export function checkStatus(status: string, path = 'status'): RunStatus {
  if (!STATUSES.has(status)) {
    throw new ValidationError(`'${status}' is not a run status`, [
      { path, message: `must be one of ${[...STATUSES].join(', ')}` },
    ]);
  }
  return status as RunStatus;
}

/** The distinct statuses of a query, sorted, so the same set always names the same query scope. */
export function statusSet(statuses: readonly string[]): RunStatus[] {
  if (statuses.length === 0) {
    throw new ValidationError('At least one status is needed', [
      { path: 'statuses', message: 'must not be empty' },
    ]);
  }
  return [...new Set(statuses.map((s, i) => checkStatus(s, `statuses[${i}]`)))].sort();
}

/**
 * Runs are listed newest first by this key: the creation time, then the id (unique), so that a
 * cursor holding the last key of a page is an exact position even when runs share a millisecond.
 */
export function runOrderKey(run: { created_at: string; id: string }): string {
  return `${run.created_at}#${run.id}`;
}

export function runSummary(state: RunState): RunSummary {
  return {
    id: state.id,
    workflow_id: state.workflow_id,
    workflow_version: state.workflow_version,
    status: state.status,
    created_at: state.created_at,
    updated_at: state.updated_at,
  };
}

/** The scope a run-list cursor is signed with: every filter of the query. */
export function runListScope(query: RunListQuery | undefined): unknown[] {
  const window = runOrderWindow(query);
  return [
    'runs',
    query?.workflow_id ?? null,
    query?.status ?? null,
    window.above ?? null,
    window.below ?? null,
  ];
}

/**
 * The order keys (`created_at#id`) of the runs created strictly inside (created_after,
 * created_before): above `above` and below `below`, neither of which is ever a run's key. The
 * instants are read as the stores write them (`toISOString`, UTC, whole milliseconds), whatever
 * offset they came with. A bound finer than a millisecond lies between two of them: `created_after`
 * goes down to the one before it (a run at .604 is not after .6045) and `created_before` up to the
 * one after it (a run at .604 is before .6045).
 */
export function runOrderWindow(query: Pick<RunListQuery, 'created_after' | 'created_before'> | undefined): {
  above?: string;
  below?: string;
} {
  const instant = (value: string, name: string, rounding: 'down' | 'up') => {
    // Only the first three digits of a fraction are read (what Date.parse does too, but not by any rule).
    const fraction = /\.(\d+)/.exec(value)?.[1] ?? '';
    const at = Date.parse(value.replace(/\.(\d{3})\d+/, '.$1'));
    if (Number.isNaN(at))
      throw new ValidationError(`${name} is not an ISO-8601 instant`, [
        { path: name, message: 'not an instant' },
      ]);
    const finer = /[1-9]/.test(fraction.slice(3));
    return new Date(rounding === 'up' && finer ? at + 1 : at).toISOString();
  };
  return {
    // After every key of that instant: ids are ASCII, and U+FFFF sorts after all of them.
    ...(query?.created_after === undefined
      ? {}
      : { above: `${instant(query.created_after, 'created_after', 'down')}#\uffff` }),
    // Before every key of that instant, which all go on with `#id`.
    ...(query?.created_before === undefined
      ? {}
      : { below: instant(query.created_before, 'created_before', 'up') }),
  };
}

export function runStatusScope(statuses: readonly RunStatus[]): unknown[] {
  return ['runs-by-status', ...statuses];
}

export function eventsScope(runId: string): unknown[] {
  return ['events', runId];
}

export const WORKFLOWS_SCOPE: unknown[] = ['workflows'];
export const LISTENERS_SCOPE: unknown[] = ['listeners'];
export const OUTBOX_SCOPE: unknown[] = ['outbox'];

/** The outbox lists newest first by this key: the time an entry was recorded, then its id. */
export function outboxOrderKey(entry: { created_at: string; id: string }): string {
  return `${entry.created_at}#${entry.id}`;
}

export interface EventsRequest {
  after?: number;
  cursor?: string;
  limit?: number;
}

/** Where an events page starts (seq > after) and how long it is, from a seq or a signed cursor. */
export function eventsWindow(
  codec: CursorCodec,
  runId: string,
  options: EventsRequest = {},
): { after: number; limit: number } {
  const limit = pageLimit({ limit: options.limit }, DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT);
  if (options.cursor !== undefined) {
    if (options.after !== undefined) {
      throw new ValidationError('Give either after or cursor, not both', [
        { path: 'after', message: 'not allowed together with cursor' },
      ]);
    }
    // The API takes a cursor of events in `after` (a seq or a next_cursor): a bad one is about `after`.
    const position = codec.decode(eventsScope(runId), options.cursor, {
      path: 'after',
      message: "neither a seq (an integer ≥ 0) nor a next_cursor of this run's events",
    });
    return { after: positionNumber(position, 'after'), limit };
  }
  const after = options.after ?? 0;
  if (!Number.isSafeInteger(after) || after < 0) {
    throw new ValidationError('after must be a seq (an integer ≥ 0)', [
      { path: 'after', message: 'must be an integer ≥ 0' },
    ]);
  }
  return { after, limit };
}

/**
 * The page of `events` (every known event with seq > after, in seq order, possibly more than a page)
 * and the cursor to the next one while more remain.
 */
export function eventsPage(
  codec: CursorCodec,
  runId: string,
  events: RunEvent[],
  limit: number,
): { events: RunEvent[]; next_cursor?: string } {
  if (events.length <= limit) return { events };
  const page = events.slice(0, limit);
  return { events: page, next_cursor: codec.encode(eventsScope(runId), { after: page.at(-1)!.seq }) };
}

/** DynamoDB orders string keys by their UTF-8 bytes; the in-memory stores order the same way. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
