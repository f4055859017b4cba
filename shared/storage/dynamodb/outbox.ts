/**
 * The outbox on DynamoDB, in the runs table under one partition (`#outbox`: no run id starts with
 * `#`). `n#<created_at>#<id>` holds an entry, so a Query lists them newest first; `id#<id>` claims an
 * id with a conditional put and names its entry's key, so recording the same notification twice (a
 * step re-run after a crash, two processes at once) keeps the first; `due#<next attempt>#<id>` marks
 * an entry still to deliver, so the retry loop reads what is due and nothing else. A marker is
 * written before its entry changes and removed after, so a crash leaves at most a stale marker,
 * which `due` removes when it finds one. Notifications are few next to steps: one partition carries
 * them (about 1,000 writes a second) and keeps the newest-first list one Query.
 */
import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { NotFoundError } from '../../errors.js';
import type { OutboxChange, OutboxEntry, OutboxStore, Page, PageRequest } from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { checkOutboxEntry, isDue } from '../outbox-rules.js';
import { OUTBOX_SCOPE, outboxOrderKey, pageLimit } from '../paging.js';
import { type Item, json, S, string } from './attributes.js';
import { toStorageError } from './errors.js';
import { Table } from './table.js';

const PARTITION = '#outbox';

const claimKey = (id: string): Item => ({ pk: S(PARTITION), sk: S(`id#${id}`) });
const entryKey = (order: string): Item => ({ pk: S(PARTITION), sk: S(`n#${order}`) });
const dueKey = (at: string, id: string): Item => ({ pk: S(PARTITION), sk: S(`due#${at}#${id}`) });

/** When an entry is next due, for its marker; undefined once it is delivered or given up. */
function dueAt(entry: OutboxEntry): string | undefined {
  if (entry.status !== 'pending' && entry.status !== 'failed') return undefined;
  return entry.next_attempt_at ?? entry.created_at;
}

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
      await this.#write(order, entry, undefined);
      return { created: true, entry };
    }
    const known = await this.#entry(entry.id);
    if (known) return { created: false, entry: known.entry };
    // The claim's writer stopped before its entry: write the entry where the claim says it goes.
    const claimed = await this.#table.get(claimKey(entry.id));
    const claimedOrder = claimed ? string(claimed, 'order') : order;
    const restored = { ...entry, created_at: claimedOrder.slice(0, claimedOrder.lastIndexOf('#')) };
    const at = dueAt(restored);
    if (at !== undefined)
      await this.#table.put({ Item: { ...dueKey(at, entry.id), order: S(claimedOrder) } });
    await this.#table.put({
      Item: this.#item(claimedOrder, restored),
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    return { created: false, entry: (await this.#entry(entry.id))?.entry ?? restored };
  }

  async update(id: string, change: OutboxChange): Promise<OutboxEntry> {
    const known = await this.#entry(id);
    if (!known) throw new NotFoundError('Notification', id);
    // Through JSON: a change to `undefined` clears the field, as in the memory store.
    const changed = JSON.parse(JSON.stringify({ ...known.entry, ...change })) as OutboxEntry;
    await this.#write(known.order, changed, known.entry);
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
    const found: OutboxEntry[] = [];
    let start: Item | undefined;
    // Markers in time order up to now; a stale one (its entry delivered, or due later) is removed.
    do {
      const page = await this.#table.client
        .send(
          new QueryCommand({
            TableName: this.#table.name,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': S(PARTITION),
              ':from': S('due#'),
              ':to': S(`due#${now.toISOString()}#\uffff`),
            },
            ConsistentRead: true,
            Limit: limit,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        )
        .catch((error: unknown) => {
          throw toStorageError(error, { operation: 'query', table: this.#table.name });
        });
      for (const marker of page.Items ?? []) {
        const item = await this.#table.get(entryKey(string(marker, 'order')));
        const entry = item ? json<OutboxEntry>(item, 'entry') : undefined;
        if (entry && isDue(entry, now) && string(marker, 'sk') === `due#${dueAt(entry)}#${entry.id}`) {
          found.push(entry);
        } else {
          await this.#table.delete({ Key: { pk: marker.pk!, sk: marker.sk! } });
        }
        if (found.length >= limit) return found;
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  /** The entry, with its due marker put first and the old one removed after (see the header). */
  async #write(order: string, entry: OutboxEntry, before: OutboxEntry | undefined): Promise<void> {
    const at = dueAt(entry);
    const was = before ? dueAt(before) : undefined;
    if (at !== undefined && at !== was) {
      await this.#table.put({ Item: { ...dueKey(at, entry.id), order: S(order) } });
    }
    await this.#table.put({ Item: this.#item(order, entry) });
    if (was !== undefined && was !== at) await this.#table.delete({ Key: dueKey(was, entry.id) });
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
