/** What both outbox stores check and compute alike: an entry's shape and whether it is due. */
import { ValidationError } from '../errors.js';
import type { OutboxEntry } from '../ports/index.js';

const ID = /^[a-f0-9]{64}$/;

export function checkOutboxEntry(entry: OutboxEntry): void {
  const issues = [];
  if (!ID.test(entry.id)) issues.push({ path: 'id', message: 'must be the entry hash (64 hex digits)' });
  if (!Number.isSafeInteger(entry.visit) || entry.visit < 1) {
    issues.push({ path: 'visit', message: 'must be an integer ≥ 1' });
  }
  if (Number.isNaN(Date.parse(entry.created_at))) {
    issues.push({ path: 'created_at', message: 'must be an ISO-8601 time' });
  }
  if (issues.length > 0) throw new ValidationError('The outbox entry is not valid', issues);
}

/** Still to be delivered, and its next attempt is due. */
export function isDue(entry: OutboxEntry, now: Date): boolean {
  if (entry.status !== 'pending' && entry.status !== 'failed') return false;
  return entry.next_attempt_at === undefined || Date.parse(entry.next_attempt_at) <= now.getTime();
}

/** The order of due entries: the one that fell due first comes first (its next attempt, else when it was made). */
export function dueOrderKey(entry: OutboxEntry): string {
  return `${entry.next_attempt_at ?? entry.created_at}#${entry.id}`;
}
