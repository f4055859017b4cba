/**
 * The SignalInbox on DynamoDB: one inbox item per run (`pk = <run id>, sk = inbox`) beside the run
 * item. Accepting a signal is a single conditional UpdateItem that checks the signal id against
 * every id accepted before, takes the next seq and appends the entry, all at once: a signal is
 * never numbered without being stored, never stored twice, and seqs have no gaps. Entries leave
 * the item when they are trimmed; their ids stay (as 128-bit digests) so a late repeat is still refused.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Signal } from '../../engine/types.js';
import { ConflictError } from '../../errors.js';
import type { InboxEntry, LargePayloads, SignalInbox, SignalPutOptions } from '../../ports/index.js';
import { pageLimit } from '../paging.js';
import { checkSignalId, INBOX_READ_DEFAULT, INBOX_READ_MAX } from '../rules.js';
import { type Item, json, N, number, S, string } from './attributes.js';
import { Table } from './table.js';

const INBOX = 'inbox';
/** Entries removed per update: keeps the expression far below DynamoDB's 4 KB limit. */
const MAX_TRIM_PER_UPDATE = 100;
/** Trims race only with other trims (puts append at the end); this bounds the retries. */
const MAX_TRIM_ATTEMPTS = 5;

const inboxKey = (runId: string): Item => ({ pk: S(runId), sk: S(INBOX) });

/** 128 bits of SHA-256: fixed-size ids, so ~20,000 accepted signals fit in one run's inbox item. */
function idDigest(signalId: string): string {
  return createHash('sha256').update(signalId, 'utf8').digest('base64url').slice(0, 22);
}

export interface DynamoDbSignalInboxOptions {
  client: DynamoDBClient;
  /** The runs table: an inbox lives in its run's partition. */
  table: string;
  largePayloads?: LargePayloads;
}

export class DynamoDbSignalInbox implements SignalInbox {
  readonly #table: Table;
  readonly #payloads: LargePayloads | undefined;

  constructor(options: DynamoDbSignalInboxOptions) {
    this.#table = new Table(options.client, options.table);
    this.#payloads = options.largePayloads;
  }

  async put(runId: string, signalId: string, signal: Signal, now: Date, options: SignalPutOptions = {}) {
    checkSignalId(signalId);
    const unless = options.unless ?? [];
    const blockers: Item = {};
    unless.forEach((id, i) => {
      blockers[`:unless${i}`] = S(idDigest(id));
    });
    const stored = this.#payloads ? await this.#payloads.offload(runId, signal) : signal;
    const { applied, attributes } = await this.#table.update({
      Key: inboxKey(runId),
      UpdateExpression:
        'SET last_seq = if_not_exists(last_seq, :zero) + :one, first_seq = if_not_exists(first_seq, :one), ' +
        'entries = list_append(if_not_exists(entries, :none), :entry) ADD ids :ids',
      ConditionExpression: [
        'NOT contains(ids, :id)',
        ...Object.keys(blockers).map((name) => `NOT contains(ids, ${name})`),
      ].join(' AND '),
      ExpressionAttributeValues: {
        ':zero': N(0),
        ':one': N(1),
        ':none': { L: [] },
        ':entry': {
          L: [
            {
              M: {
                signal_id: S(signalId),
                signal: S(JSON.stringify(stored)),
                received_at: S(now.toISOString()),
              },
            },
          ],
        },
        ':ids': { SS: [idDigest(signalId)] },
        ':id': S(idDigest(signalId)),
        ...blockers,
      },
      ReturnValues: 'UPDATED_NEW',
    });
    if (!applied) {
      if (unless.length === 0) return { accepted: false };
      // Which condition refused it: a read on this rare path, not on every put.
      const item = await this.#table.get(inboxKey(runId), 'ids');
      const ids = item?.ids && 'SS' in item.ids ? (item.ids.SS ?? []) : [];
      return ids.includes(idDigest(signalId)) ? { accepted: false } : { accepted: false, blocked: true };
    }
    return { accepted: true, seq: number(attributes!, 'last_seq') };
  }

  async read(runId: string, after: number, limit?: number): Promise<InboxEntry[]> {
    const count = pageLimit({ limit }, INBOX_READ_DEFAULT, INBOX_READ_MAX);
    // Not the ids it accepted (a set that grows to ~400 KB): an Advance reads the inbox as it runs.
    const item = await this.#table.get(inboxKey(runId), 'first_seq, entries');
    return item ? inboxEntries(item, after, count, (value) => this.#restore(value)) : [];
  }

  async trim(runId: string, upTo: number, from?: number): Promise<void> {
    // With the caller's first seq, the common case (nothing older left behind) is one update, no read:
    // the condition on first_seq makes a wrong guess harmless, and the loop below reads and retries.
    if (from !== undefined && from <= upTo && upTo - from < MAX_TRIM_PER_UPDATE) {
      if (await this.#remove(runId, from, upTo - from + 1)) return;
    }
    for (let attempt = 1; ; ) {
      const item = await this.#table.get(inboxKey(runId), 'first_seq, entries');
      if (!item) return;
      const first = number(item, 'first_seq');
      const drop = Math.min(upTo - first + 1, entriesOf(item).length, MAX_TRIM_PER_UPDATE);
      if (drop <= 0) return;
      if (await this.#remove(runId, first, drop)) continue;
      if (++attempt > MAX_TRIM_ATTEMPTS) {
        throw new ConflictError(`The inbox of run ${runId} is being trimmed by others; try again`, {
          retryable: true,
        });
      }
    }
  }

  /** Removes the first `drop` entries if the inbox still starts at `first`; whether it did. */
  async #remove(runId: string, first: number, drop: number): Promise<boolean> {
    // Highest index first: DynamoDB reads every index against the list before the update, dynalite
    // removes one after the other; in this order both remove the same entries.
    const removed = Array.from({ length: drop }, (_, i) => `entries[${drop - 1 - i}]`);
    const { applied } = await this.#table.update({
      Key: inboxKey(runId),
      UpdateExpression: `REMOVE ${removed.join(', ')} SET first_seq = :next`,
      ConditionExpression: 'first_seq = :first',
      ExpressionAttributeValues: { ':first': N(first), ':next': N(first + drop) },
    });
    return applied;
  }

  async #restore(value: unknown): Promise<unknown> {
    return this.#payloads ? this.#payloads.restore(value) : value;
  }
}

/** The entries of an inbox item after `after`, at most `count`: for `read`, and for a run read with its inbox. */
export function inboxEntries(
  item: Item,
  after: number,
  count: number,
  restore: (value: unknown) => Promise<unknown>,
): Promise<InboxEntry[]> {
  const first = number(item, 'first_seq');
  const wanted = entriesOf(item)
    .map((entry, i) => ({ entry, seq: first + i }))
    .filter(({ seq }) => seq > after)
    .slice(0, count);
  return Promise.all(
    wanted.map(async ({ entry, seq }) => ({
      seq,
      signal: (await restore(json<unknown>(entry, 'signal'))) as Signal,
      signal_id: string(entry, 'signal_id'),
      received_at: string(entry, 'received_at'),
    })),
  );
}

/** The inbox item's sort key: it sits in its run's partition, between the commits and the run item. */
export const INBOX_SORT_KEY = INBOX;

function entriesOf(item: Item): Item[] {
  return (item.entries?.L ?? []).map((value) => value.M ?? {});
}
