/** The ListenerStore in memory: listeners by id, listed by id, found by their source. */
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Listener, ListenerSource, ListenerStore, Page, PageRequest } from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { compareKeys, LISTENERS_SCOPE, pageLimit } from '../paging.js';
import { checkListener, listenerMatches } from '../rules.js';
import { jsonCopy } from './json-copy.js';

export class MemoryListenerStore implements ListenerStore {
  readonly #listeners = new Map<string, Listener>();
  readonly #cursors: CursorCodec;

  constructor(cursors: CursorCodec) {
    this.#cursors = cursors;
  }

  async create(listener: Listener): Promise<void> {
    checkListener(listener);
    if (this.#listeners.has(listener.id)) throw new ConflictError(`Listener '${listener.id}' already exists`);
    this.#listeners.set(listener.id, jsonCopy(listener));
  }

  async get(id: string): Promise<Listener> {
    const listener = this.#listeners.get(id);
    if (!listener) throw new NotFoundError('Listener', id);
    return jsonCopy(listener);
  }

  async list(page?: PageRequest): Promise<Page<Listener>> {
    const limit = pageLimit(page);
    const after =
      page?.cursor === undefined
        ? undefined
        : positionString(this.#cursors.decode(LISTENERS_SCOPE, page.cursor), 'id');
    const ids = [...this.#listeners.keys()]
      .filter((id) => after === undefined || compareKeys(id, after) > 0)
      .sort(compareKeys);
    const items = ids.slice(0, limit).map((id) => jsonCopy(this.#listeners.get(id)!));
    const result: Page<Listener> = { items };
    if (ids.length > limit)
      result.next_cursor = this.#cursors.encode(LISTENERS_SCOPE, { id: items.at(-1)!.id });
    return result;
  }

  async delete(id: string): Promise<void> {
    if (!this.#listeners.delete(id)) throw new NotFoundError('Listener', id);
  }

  async find(source: ListenerSource): Promise<Listener[]> {
    return [...this.#listeners.values()]
      .filter((listener) => listenerMatches(listener, source))
      .sort((a, b) => compareKeys(a.id, b.id))
      .map((listener) => jsonCopy(listener));
  }
}
