/**
 * What the versioned definitions in memory (workflows, prompt templates) share: each id's versions,
 * oldest first, read by number and listed by id. Each store keeps what else it needs beside them.
 */
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Page, PageRequest } from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { compareKeys, pageLimit } from '../paging.js';
import { jsonCopy } from './json-copy.js';

export interface Versions<V> {
  /** Oldest first: version n is at n - 1. */
  versions: V[];
}

export class MemoryVersions<V, E extends Versions<V>> {
  readonly #entries = new Map<string, E>();
  readonly #noun: string;
  readonly #listScope: readonly unknown[];
  readonly #cursors: CursorCodec;

  /** `noun` is what errors call one definition (`Workflow`, `Template`); `listScope` the list's cursor scope. */
  constructor(noun: string, listScope: readonly unknown[], cursors: CursorCodec) {
    this.#noun = noun;
    this.#listScope = listScope;
    this.#cursors = cursors;
  }

  /** The entry of an id that exists; NotFoundError otherwise. */
  entry(id: string): E {
    const entry = this.#entries.get(id);
    if (!entry) throw new NotFoundError(this.#noun, id);
    return entry;
  }

  /** Adds a new id; ConflictError when it exists. */
  add(id: string, entry: E): void {
    if (this.#entries.has(id)) throw new ConflictError(`${this.#noun} '${id}' already exists`);
    this.#entries.set(id, entry);
  }

  /** A copy of the given version, or of the latest when none is given. */
  get(id: string, version?: number): V {
    const versions = this.#entries.get(id)?.versions ?? [];
    const found = version === undefined ? versions.at(-1) : versions[version - 1];
    if (!found) throw new NotFoundError(this.#noun, version === undefined ? id : `${id} v${version}`);
    return jsonCopy(found);
  }

  /** One page of summaries (copies), by id. */
  list<T extends { id: string }>(page: PageRequest | undefined, summaryOf: (entry: E) => T): Page<T> {
    const limit = pageLimit(page);
    const after =
      page?.cursor === undefined
        ? undefined
        : positionString(this.#cursors.decode(this.#listScope, page.cursor), 'id');
    const ids = [...this.#entries.keys()]
      .filter((id) => after === undefined || compareKeys(id, after) > 0)
      .sort(compareKeys);
    const items = ids.slice(0, limit).map((id) => jsonCopy(summaryOf(this.#entries.get(id)!)));
    const result: Page<T> = { items };
    if (ids.length > limit)
      result.next_cursor = this.#cursors.encode(this.#listScope, { id: items.at(-1)!.id });
    return result;
  }
}
