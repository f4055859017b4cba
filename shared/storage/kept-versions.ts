/**
 * A workflow store that reads each stored version once per process. Versions never change once
 * written, and nearly every request about a run asks for the version it is pinned to: the Advance,
 * the API's view of a run (on every poll), answers and callbacks, child runs. Each was a DynamoDB
 * read — 3 of the 13 calls of a 3-step run through `npm start`, polled twice. The compiled graph
 * and templates hang on the definition, so they are kept with it.
 *
 * Only a version asked for by number is kept: the latest version, summaries, lists and every write
 * go to the store each time, so a new version or a retirement is seen at once.
 */
import type { WorkflowDefinition, WorkflowVersion } from '../definition/schema.js';
import type {
  Page,
  PageRequest,
  WorkflowStore,
  WorkflowSummary,
  WorkflowVersionInfo,
} from '../ports/storage.js';

/** Versions kept per store; past it, the one read first is dropped. */
export const VERSIONS_KEPT = 500;

export function keepVersions(store: WorkflowStore): WorkflowStore {
  return new KeptVersions(store);
}

class KeptVersions implements WorkflowStore {
  readonly #store: WorkflowStore;
  readonly #kept = new Map<string, Promise<WorkflowVersion>>();

  constructor(store: WorkflowStore) {
    this.#store = store;
  }

  get(id: string, version?: number): Promise<WorkflowVersion> {
    if (version === undefined) return this.#store.get(id);
    const key = `${id}\u0000${version}`;
    const kept = this.#kept;
    let found = kept.get(key);
    if (found === undefined) {
      found = this.#store.get(id, version);
      kept.set(key, found);
      // A failed read (an unknown version, a throttle) is not kept.
      found.catch(() => kept.delete(key));
      if (kept.size > VERSIONS_KEPT) kept.delete(kept.keys().next().value!);
    }
    return found;
  }

  create(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion> {
    return this.#store.create(definition, now);
  }

  update(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion> {
    return this.#store.update(definition, now);
  }

  versions(id: string, page?: PageRequest): Promise<Page<WorkflowVersionInfo>> {
    return this.#store.versions(id, page);
  }

  summary(id: string): Promise<WorkflowSummary> {
    return this.#store.summary(id);
  }

  list(page?: PageRequest): Promise<Page<WorkflowSummary>> {
    return this.#store.list(page);
  }

  retire(id: string, now: Date): Promise<void> {
    return this.#store.retire(id, now);
  }
}
