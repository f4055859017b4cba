/**
 * The ListenerStore in memory: listeners by id, listed by id, found by their source through an index
 * of the same keys as DynamoDB's `by_source` (`sourceKey`), with their activity.
 */
import { ConflictError, NotFoundError } from '../../errors.js';
import type {
  Listener,
  ListenerActivity,
  ListenerChange,
  ListenerDefinition,
  ListenerFire,
  ListenerSource,
  ListenerStore,
  Page,
  PageRequest,
} from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { compareKeys, LISTENERS_SCOPE, pageLimit } from '../paging.js';
import {
  changedListener,
  checkListener,
  definitionOf,
  listenerMatches,
  listenerOf,
  sourceKey,
  sourceKeys,
} from '../rules.js';
import { jsonCopy } from './json-copy.js';

interface Stored {
  definition: ListenerDefinition;
  activity: Partial<ListenerActivity>;
}

export class MemoryListenerStore implements ListenerStore {
  readonly #listeners = new Map<string, Stored>();
  /** The ids of the listeners under each source key. */
  readonly #bySource = new Map<string, Set<string>>();
  readonly #cursors: CursorCodec;

  constructor(cursors: CursorCodec) {
    this.#cursors = cursors;
  }

  async create(definition: ListenerDefinition): Promise<Listener> {
    checkListener(definition);
    if (this.#listeners.has(definition.id))
      throw new ConflictError(`Listener '${definition.id}' already exists`);
    const stored = { definition: jsonCopy(definitionOf(definition)), activity: {} };
    this.#listeners.set(definition.id, stored);
    this.#index(stored.definition, 'add');
    return this.get(definition.id);
  }

  async get(id: string): Promise<Listener> {
    return this.#view(this.#stored(id));
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
    const items = ids.slice(0, limit).map((id) => this.#view(this.#listeners.get(id)!));
    const result: Page<Listener> = { items };
    if (ids.length > limit)
      result.next_cursor = this.#cursors.encode(LISTENERS_SCOPE, { id: items.at(-1)!.id });
    return result;
  }

  async update(id: string, change: ListenerChange, now: Date): Promise<Listener> {
    const stored = this.#stored(id);
    const definition = changedListener(stored.definition, jsonCopy(change), now);
    checkListener(definition);
    this.#index(stored.definition, 'delete');
    stored.definition = definitionOf(definition);
    this.#index(stored.definition, 'add');
    return this.#view(stored);
  }

  async delete(id: string): Promise<void> {
    const stored = this.#stored(id);
    this.#index(stored.definition, 'delete');
    this.#listeners.delete(id);
  }

  async find(source: ListenerSource): Promise<Listener[]> {
    const keys = sourceKeys(source);
    const candidates =
      keys === undefined
        ? [...this.#listeners.values()]
        : keys.flatMap((key) => [...(this.#bySource.get(key) ?? [])].map((id) => this.#listeners.get(id)!));
    return candidates
      .filter((stored) => listenerMatches(stored.definition, source))
      .sort((a, b) => compareKeys(a.definition.id, b.definition.id))
      .map((stored) => this.#view(stored));
  }

  async recordFire(id: string, fire: ListenerFire): Promise<void> {
    const activity = this.#listeners.get(id)?.activity;
    if (activity === undefined) return;
    switch (fire.outcome) {
      case 'started':
        activity.fired = (activity.fired ?? 0) + 1;
        activity.last_fired_at = fire.at;
        activity.last_run_id = fire.run_id;
        return;
      case 'skipped':
        activity.skipped = (activity.skipped ?? 0) + 1;
        return;
      case 'failed':
        activity.failed = (activity.failed ?? 0) + 1;
        activity.last_error = { ...fire.error, at: fire.at };
        return;
    }
  }

  async setNextFire(id: string, at: string | undefined): Promise<void> {
    const activity = this.#listeners.get(id)?.activity;
    if (activity === undefined) return;
    if (at === undefined) delete activity.next_fire_at;
    else activity.next_fire_at = at;
  }

  #index(definition: ListenerDefinition, change: 'add' | 'delete'): void {
    const key = sourceKey(definition);
    if (key === undefined) return;
    const ids = this.#bySource.get(key) ?? new Set<string>();
    if (change === 'add') ids.add(definition.id);
    else ids.delete(definition.id);
    if (ids.size > 0) this.#bySource.set(key, ids);
    else this.#bySource.delete(key);
  }

  #stored(id: string): Stored {
    const stored = this.#listeners.get(id);
    if (!stored) throw new NotFoundError('Listener', id);
    return stored;
  }

  #view(stored: Stored): Listener {
    return jsonCopy(listenerOf(stored.definition, stored.activity));
  }
}
