/**
 * What the versioned definitions on DynamoDB (workflows, prompt templates) share: under the partition
 * of an id, `v#<n>` items, each written once by a conditional put, and one summary item that the
 * by-kind index lists. Each store says how its id maps to a partition and how a version is stored.
 */
import { setTimeout } from 'node:timers/promises';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Page, PageRequest } from '../../ports/index.js';
import type { CursorCodec } from '../cursor.js';
import { type Item, N, padded, S } from './attributes.js';
import { pageByKind } from './kind-pages.js';
import type { Table } from './table.js';
import { INDEXES } from './tables.js';

/**
 * Concurrent updates of one definition each take the next free number: one of them wins each
 * number, the others read again and try the next, after a random pause that doubles up to
 * UPDATE_BACKOFF_MAX_MS (so that twenty deploys at once line up instead of colliding again), for
 * at most UPDATE_PATIENCE_MS. Five tries without a pause left 7 of 20 concurrent updates with a 409.
 */
const UPDATE_BACKOFF_BASE_MS = 5;
const UPDATE_BACKOFF_MAX_MS = 100;
const UPDATE_PATIENCE_MS = 10_000;

export interface StoredVersion {
  id: string;
  version: number;
  created_at: string;
}

export interface VersionLayout<V extends StoredVersion> {
  /** What errors call one definition: `Workflow`, `Template`. */
  noun: string;
  /** The kind of its summary items on the by-kind index. */
  kind: string;
  /** The cursor scope of its list. */
  listScope: readonly unknown[];
  /** The partition key of an id. */
  partition(id: string): string;
  /** The attributes a version item holds besides its key, number and date. */
  attributes(version: V): Item;
  fromItem(item: Item): V;
}

export class VersionedItems<V extends StoredVersion> {
  readonly #table: Table;
  readonly #layout: VersionLayout<V>;
  readonly #cursors: CursorCodec;

  constructor(table: Table, layout: VersionLayout<V>, cursors: CursorCodec) {
    this.#table = table;
    this.#layout = layout;
    this.#cursors = cursors;
  }

  versionKey(id: string, version: number): Item {
    return { id: S(this.#layout.partition(id)), sk: S(`v#${padded(version, 10)}`) };
  }

  summaryKey(id: string): Item {
    return { id: S(this.#layout.partition(id)), sk: S('summary') };
  }

  /** Writes a version that does not exist yet; false when its number is taken. */
  async put(version: V): Promise<boolean> {
    const { applied } = await this.#table.put({
      Item: {
        ...this.versionKey(version.id, version.version),
        version: N(version.version),
        ...this.#layout.attributes(version),
        created_at: S(version.created_at),
      },
      ConditionExpression: 'attribute_not_exists(id)',
    });
    return applied;
  }

  async latest(id: string): Promise<V | undefined> {
    const [item] = await this.#table.query(
      {
        KeyConditionExpression: 'id = :id AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':id': S(this.#layout.partition(id)), ':v': S('v#') },
        ScanIndexForward: false,
        Limit: 1,
      },
      (found) => found.length > 0,
    );
    return item && this.#layout.fromItem(item);
  }

  /**
   * The given version, or the latest when none is given; a version that is no whole number from 1 is
   * simply not there. NotFoundError names the kind and what was asked for.
   */
  async get(id: string, version?: number): Promise<V> {
    const found =
      version === undefined
        ? await this.latest(id)
        : Number.isSafeInteger(version) && version >= 1
          ? await this.#table
              .get(this.versionKey(id, version))
              .then((item) => item && this.#layout.fromItem(item))
          : undefined;
    if (!found) throw new NotFoundError(this.#layout.noun, version === undefined ? id : `${id} v${version}`);
    return found;
  }

  /** One page of summaries, by id, from the by-kind index. */
  list<T extends { id: string }>(
    page: PageRequest | undefined,
    summaryFrom: (item: Item) => T,
  ): Promise<Page<T>> {
    const { kind, listScope, partition } = this.#layout;
    return pageByKind(
      this.#table,
      this.#cursors,
      { index: INDEXES.workflowsByKind, kind, scope: listScope, partition },
      page,
      summaryFrom,
    );
  }

  /**
   * An update: `attempt` reads the latest version and answers the version it wrote or kept, or
   * undefined when a concurrent update took the number first; then it reads and tries again.
   */
  async update(id: string, attempt: () => Promise<V | undefined>): Promise<V> {
    const giveUpAt = Date.now() + UPDATE_PATIENCE_MS;
    for (let lost = 0; ; lost++) {
      const done = await attempt();
      if (done) return done;
      if (Date.now() >= giveUpAt) {
        throw new ConflictError(`${this.#layout.noun} '${id}' is being updated by others; try again`, {
          retryable: true,
        });
      }
      const ceiling = Math.min(UPDATE_BACKOFF_MAX_MS, UPDATE_BACKOFF_BASE_MS * 2 ** lost);
      await setTimeout(Math.random() * ceiling);
    }
  }
}
