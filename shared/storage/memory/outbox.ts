/** The outbox in memory: the same ids, order and paging as the DynamoDB store. */
import { NotFoundError } from '../../errors.js';
import type { OutboxChange, OutboxEntry, OutboxStore, Page, PageRequest } from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { checkOutboxEntry, dueOrderKey, isDue } from '../outbox-rules.js';
import { compareKeys, OUTBOX_SCOPE, outboxOrderKey, pageLimit } from '../paging.js';
import { jsonCopy } from './json-copy.js';

export class MemoryOutbox implements OutboxStore {
  readonly #entries = new Map<string, OutboxEntry>();
  readonly #cursors: CursorCodec;

  constructor(cursors: CursorCodec) {
    this.#cursors = cursors;
  }

  async add(entry: OutboxEntry): Promise<{ created: boolean; entry: OutboxEntry }> {
    checkOutboxEntry(entry);
    const known = this.#entries.get(entry.id);
    if (known) return { created: false, entry: jsonCopy(known) };
    this.#entries.set(entry.id, jsonCopy(entry));
    return { created: true, entry: jsonCopy(entry) };
  }

  async update(id: string, change: OutboxChange): Promise<OutboxEntry> {
    const known = this.#entries.get(id);
    if (!known) throw new NotFoundError('Notification', id);
    // Copied after the merge: a change to `undefined` clears the field, as in the DynamoDB store.
    const changed = jsonCopy({ ...known, ...change });
    this.#entries.set(id, changed);
    return jsonCopy(changed);
  }

  async get(id: string): Promise<OutboxEntry | undefined> {
    const entry = this.#entries.get(id);
    return entry && jsonCopy(entry);
  }

  async list(page?: PageRequest): Promise<Page<OutboxEntry>> {
    const limit = pageLimit(page);
    const before =
      page?.cursor === undefined
        ? undefined
        : positionString(this.#cursors.decode(OUTBOX_SCOPE, page.cursor), 'key');
    const newestFirst = [...this.#entries.values()]
      .map((entry) => ({ key: outboxOrderKey(entry), entry }))
      .filter(({ key }) => before === undefined || compareKeys(key, before) < 0)
      .sort((a, b) => compareKeys(b.key, a.key));
    const items = newestFirst.slice(0, limit).map(({ entry }) => jsonCopy(entry));
    const result: Page<OutboxEntry> = { items };
    if (newestFirst.length > limit) {
      result.next_cursor = this.#cursors.encode(OUTBOX_SCOPE, { key: newestFirst[limit - 1]!.key });
    }
    return result;
  }

  async due(now: Date, limit: number): Promise<OutboxEntry[]> {
    return [...this.#entries.values()]
      .filter((entry) => isDue(entry, now))
      .sort((a, b) => compareKeys(dueOrderKey(a), dueOrderKey(b)))
      .slice(0, limit)
      .map((entry) => jsonCopy(entry));
  }
}
