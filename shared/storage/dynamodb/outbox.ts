/**
 * The outbox on DynamoDB, in the runs table under one partition (`#outbox`: no run id starts with
 * `#`). `n#<created_at>#<id>` holds an entry, so a Query lists them newest first; `id#<id>` claims an
 * id with a conditional put and names its entry's key, so recording the same notification twice (a
 * step re-run after a crash, two processes at once) keeps the first. Notifications are few next to
 * steps; one partition carries them (about 1,000 writes a second) and keeps the newest-first list
 * one Query.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { NotFoundError } from '../../errors.js';
import type { OutboxChange, OutboxEntry, OutboxStore, Page, PageRequest } from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { checkOutboxEntry, isDue } from '../outbox-rules.js';
import { OUTBOX_SCOPE, outboxOrderKey, pageLimit } from '../paging.js';
import { type Item, json, S, string } from './attributes.js';
import { Table } from './table.js';

const PARTITION = '#outbox';
/** How far back `due` looks: a notification not delivered within a week is not worth sending. */
const DUE_WINDOW_MS = 7 * 86_400_000;

const claimKey = (id: string): Item => ({ pk: S(PARTITION), sk: S(`id#${id}`) });
const entryKey = (order: string): Item => ({ pk: S(PARTITION), sk: S(`n#${order}`) });

export interface DynamoDbOutboxOptions {
  client: DynamoDBClient;
  /** The runs table. */
  table: string;
  cursors: CursorCodec;
}

export class DynamoDbOutbox implements OutboxStore {
  readonly #table: Table;
  readonly #cursors: CursorCodec;

  constructor(options: DynamoDbOutboxOptions) {
    this.#table = new Table(options.client, options.table);
    this.#cursors = options.cursors;
  }

  async add(entry: OutboxEntry): Promise<{ created: boolean; entry: OutboxEntry }> {
    checkOutboxEntry(entry);
    const order = outboxOrderKey(entry);
    const claim = await this.#table.put({
      Item: { ...claimKey(entry.id), order: S(order) },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (claim.applied) {
      await this.#table.put({ Item: this.#item(order, entry) });
      return { created: true, entry };
    }
    const known = await this.#entry(entry.id);
    if (known) return { created: false, entry: known.entry };
    // The claim's writer stopped before its entry: write the entry where the claim says it goes.
    const claimed = await this.#table.get(claimKey(entry.id));
    const claimedOrder = claimed ? string(claimed, 'order') : order;
    const restored = { ...entry, created_at: claimedOrder.slice(0, claimedOrder.lastIndexOf('#')) };
    await this.#table.put({
      Item: this.#item(claimedOrder, restored),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    return { created: false, entry: (await this.#entry(entry.id))?.entry ?? restored };
  }

  async update(id: string, change: OutboxChange): Promise<OutboxEntry> {
    const known = await this.#entry(id);
    if (!known) throw new NotFoundError('Notification', id);
    const changed: OutboxEntry = { ...known.entry, ...change };
    await this.#table.put({ Item: this.#item(known.order, changed) });
    return changed;
  }

  async get(id: string): Promise<OutboxEntry | undefined> {
    return (await this.#entry(id))?.entry;
  }

  async list(page?: PageRequest): Promise<Page<OutboxEntry>> {
    const limit = pageLimit(page);
    const before =
      page?.cursor === undefined
        ? undefined
        : positionString(this.#cursors.decode(OUTBOX_SCOPE, page.cursor), 'key');
    const items = await this.#table.query(
      {
        KeyConditionExpression:
          before === undefined
            ? 'pk = :pk AND begins_with(sk, :n)'
            : 'pk = :pk AND sk BETWEEN :n AND :before',
        ExpressionAttributeValues: {
          ':pk': S(PARTITION),
          ':n': S('n#'),
          // BETWEEN is inclusive (and keeps the `id#` claims out): the cursor's own entry is dropped below.
          ...(before === undefined ? {} : { ':before': S(`n#${before}`) }),
        },
        ScanIndexForward: false,
        Limit: limit + 2,
      },
      (found) => found.length > limit + 1,
    );
    const entries = items
      .filter((item) => before === undefined || string(item, 'sk') !== `n#${before}`)
      .slice(0, limit + 1)
      .map((item) => json<OutboxEntry>(item, 'entry'));
    const result: Page<OutboxEntry> = { items: entries.slice(0, limit) };
    if (entries.length > limit) {
      result.next_cursor = this.#cursors.encode(OUTBOX_SCOPE, { key: outboxOrderKey(entries[limit - 1]!) });
    }
    return result;
  }

  async due(now: Date, limit: number): Promise<OutboxEntry[]> {
    const since = new Date(now.getTime() - DUE_WINDOW_MS).toISOString();
    const items = await this.#table.query(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        FilterExpression: '#status IN (:pending, :failed)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':pk': S(PARTITION),
          ':from': S(`n#${since}`),
          ':to': S('n#\uffff'),
          ':pending': S('pending'),
          ':failed': S('failed'),
        },
      },
      (found) => found.length >= limit,
    );
    return items
      .map((item) => json<OutboxEntry>(item, 'entry'))
      .filter((entry) => isDue(entry, now))
      .slice(0, limit);
  }

  async #entry(id: string): Promise<{ order: string; entry: OutboxEntry } | undefined> {
    const claim = await this.#table.get(claimKey(id));
    if (!claim) return undefined;
    const order = string(claim, 'order');
    const item = await this.#table.get(entryKey(order));
    return item ? { order, entry: json<OutboxEntry>(item, 'entry') } : undefined;
  }

  #item(order: string, entry: OutboxEntry): Item {
    return { ...entryKey(order), status: S(entry.status), entry: S(JSON.stringify(entry)) };
  }
}
