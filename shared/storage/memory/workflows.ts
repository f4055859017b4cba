/** The WorkflowStore in memory: versions, the latest pointer, listing by id and retirement. */

import type { WorkflowDefinition, WorkflowVersion } from '../../definition/schema.js';
import type {
  Page,
  PageRequest,
  WorkflowStore,
  WorkflowSummary,
  WorkflowVersionInfo,
} from '../../ports/index.js';
import { contentHash, workflowVersionsScope } from '../content-hash.js';
import type { CursorCodec } from '../cursor.js';
import { positionNumber } from '../cursor.js';
import { pageLimit, WORKFLOWS_SCOPE } from '../paging.js';
import { definitionText, summaryOf } from '../rules.js';
import { jsonCopy } from './json-copy.js';
import { MemoryVersions, type Versions } from './versioned.js';

interface StoredWorkflow extends Versions<WorkflowVersion> {
  /** The content hash of each version, by index. */
  hashes: string[];
  summary: WorkflowSummary;
}

export class MemoryWorkflowStore implements WorkflowStore {
  readonly #workflows: MemoryVersions<WorkflowVersion, StoredWorkflow>;
  readonly #cursors: CursorCodec;

  constructor(cursors: CursorCodec) {
    this.#workflows = new MemoryVersions('Workflow', WORKFLOWS_SCOPE, cursors);
    this.#cursors = cursors;
  }

  async create(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion> {
    definitionText(definition);
    const version = this.#version(definition, 1, now);
    this.#workflows.add(definition.id, {
      versions: [version],
      hashes: [contentHash(version.definition)],
      summary: summaryOf(version, version.created_at, false),
    });
    return jsonCopy(version);
  }

  async update(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion> {
    definitionText(definition);
    const stored = this.#workflows.entry(definition.id);
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
    return this.#workflows.get(id, version);
  }

  async versions(id: string, page?: PageRequest): Promise<Page<WorkflowVersionInfo>> {
    const limit = pageLimit(page);
    const stored = this.#workflows.entry(id);
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
    return jsonCopy(this.#workflows.entry(id).summary);
  }

  async list(page?: PageRequest): Promise<Page<WorkflowSummary>> {
    return this.#workflows.list(page, (stored) => stored.summary);
  }

  async retire(id: string, now: Date): Promise<void> {
    const stored = this.#workflows.entry(id);
    stored.summary = { ...stored.summary, retired: true, updated_at: now.toISOString() };
  }

  #version(definition: WorkflowDefinition, version: number, now: Date): WorkflowVersion {
    return { id: definition.id, version, definition: jsonCopy(definition), created_at: now.toISOString() };
  }
}
