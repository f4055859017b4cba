/** The WorkflowStore in memory: versions, the latest pointer, listing by id and retirement. */

import type { WorkflowDefinition, WorkflowVersion } from '../../definition/schema.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type {
  Page,
  PageRequest,
  WorkflowStore,
  WorkflowSummary,
  WorkflowVersionInfo,
} from '../../ports/index.js';
import { contentHash, workflowVersionsScope } from '../content-hash.js';
import type { CursorCodec } from '../cursor.js';
import { positionNumber, positionString } from '../cursor.js';
import { compareKeys, pageLimit, WORKFLOWS_SCOPE } from '../paging.js';
import { definitionText, summaryOf } from '../rules.js';
import { jsonCopy } from './json-copy.js';

interface StoredWorkflow {
  versions: WorkflowVersion[];
  /** The content hash of each version, by index. */
  hashes: string[];
  summary: WorkflowSummary;
}

export class MemoryWorkflowStore implements WorkflowStore {
  readonly #workflows = new Map<string, StoredWorkflow>();
  readonly #cursors: CursorCodec;

  constructor(cursors: CursorCodec) {
    this.#cursors = cursors;
  }

  async create(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion> {
    definitionText(definition);
    if (this.#workflows.has(definition.id)) {
      throw new ConflictError(`Workflow '${definition.id}' already exists`);
    }
    const version = this.#version(definition, 1, now);
    this.#workflows.set(definition.id, {
      versions: [version],
      hashes: [contentHash(version.definition)],
      summary: summaryOf(version, version.created_at, false),
    });
    return jsonCopy(version);
  }

  async update(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion> {
    definitionText(definition);
    const stored = this.#workflows.get(definition.id);
    if (!stored) throw new NotFoundError('Workflow', definition.id);
    const hash = contentHash(definition);
    // A retired workflow is revived by a version of its own, even with the latest content.
    if (!stored.summary.retired && stored.hashes.at(-1) === hash) return jsonCopy(stored.versions.at(-1)!);
    const version = this.#version(definition, stored.versions.length + 1, now);
    stored.versions.push(version);
    stored.hashes.push(hash);
    stored.summary = summaryOf(version, stored.summary.created_at, false);
    return jsonCopy(version);
  }

  async get(id: string, version?: number): Promise<WorkflowVersion> {
    const versions = this.#workflows.get(id)?.versions ?? [];
    const found = version === undefined ? versions.at(-1) : versions[version - 1];
    if (!found) throw new NotFoundError('Workflow', version === undefined ? id : `${id} v${version}`);
    return jsonCopy(found);
  }

  async versions(id: string, page?: PageRequest): Promise<Page<WorkflowVersionInfo>> {
    const limit = pageLimit(page);
    const stored = this.#workflows.get(id);
    if (!stored) throw new NotFoundError('Workflow', id);
    const before =
      page?.cursor === undefined
        ? stored.versions.length + 1
        : positionNumber(this.#cursors.decode(workflowVersionsScope(id), page.cursor), 'before');
    const newestFirst = stored.versions
      .map((v, index) => ({
        version: v.version,
        created_at: v.created_at,
        content_hash: stored.hashes[index]!,
      }))
      .filter((v) => v.version < before)
      .reverse();
    const items = newestFirst.slice(0, limit);
    const result: Page<WorkflowVersionInfo> = { items };
    if (newestFirst.length > limit) {
      result.next_cursor = this.#cursors.encode(workflowVersionsScope(id), { before: items.at(-1)!.version });
    }
    return result;
  }

  async summary(id: string): Promise<WorkflowSummary> {
    const stored = this.#workflows.get(id);
    if (!stored) throw new NotFoundError('Workflow', id);
    return jsonCopy(stored.summary);
  }

  async list(page?: PageRequest): Promise<Page<WorkflowSummary>> {
    const limit = pageLimit(page);
    const after =
      page?.cursor === undefined
        ? undefined
        : positionString(this.#cursors.decode(WORKFLOWS_SCOPE, page.cursor), 'id');
    const ids = [...this.#workflows.keys()]
      .filter((id) => after === undefined || compareKeys(id, after) > 0)
      .sort(compareKeys);
    const items = ids.slice(0, limit).map((id) => jsonCopy(this.#workflows.get(id)!.summary));
    const result: Page<WorkflowSummary> = { items };
    if (ids.length > limit)
      result.next_cursor = this.#cursors.encode(WORKFLOWS_SCOPE, { id: items.at(-1)!.id });
    return result;
  }

  async retire(id: string, now: Date): Promise<void> {
    const stored = this.#workflows.get(id);
    if (!stored) throw new NotFoundError('Workflow', id);
    stored.summary = { ...stored.summary, retired: true, updated_at: now.toISOString() };
  }

  #version(definition: WorkflowDefinition, version: number, now: Date): WorkflowVersion {
    return { id: definition.id, version, definition: jsonCopy(definition), created_at: now.toISOString() };
  }
}
