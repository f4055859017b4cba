/**
 * The WorkflowStore on DynamoDB. Versions are the truth (`v#<n>` items, written once, each by a
 * conditional put); one summary item per workflow follows them for listing and retirement. Without
 * transactions the summary is written second, so a reader that finds versions but no summary (a
 * process died between the two writes) rebuilds it.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
import { type CursorCodec, positionNumber } from '../cursor.js';
import { pageLimit, WORKFLOWS_SCOPE } from '../paging.js';
import { definitionText, summaryOf } from '../rules.js';
import { type Item, json, N, number, optionalString, S, string } from './attributes.js';
import { Table } from './table.js';
import { VersionedItems } from './versioned.js';

const KIND = 'workflow';

export interface DynamoDbWorkflowStoreOptions {
  client: DynamoDBClient;
  table: string;
  cursors: CursorCodec;
}

export class DynamoDbWorkflowStore implements WorkflowStore {
  readonly #table: Table;
  readonly #versions: VersionedItems<WorkflowVersion>;
  readonly #cursors: CursorCodec;

  constructor(options: DynamoDbWorkflowStoreOptions) {
    this.#table = new Table(options.client, options.table);
    this.#cursors = options.cursors;
    this.#versions = new VersionedItems(
      this.#table,
      {
        noun: 'Workflow',
        kind: KIND,
        listScope: WORKFLOWS_SCOPE,
        partition: (id) => id,
        attributes: (version) => ({
          definition: S(JSON.stringify(version.definition)),
          content_hash: S(contentHash(version.definition)),
        }),
        fromItem: versionFrom,
      },
      options.cursors,
    );
  }

  async create(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion> {
    const version = versionOf(definition, 1, now);
    // Version 1 exists exactly when the id is taken (retired workflows keep their versions).
    if (!(await this.#versions.put(version)))
      throw new ConflictError(`Workflow '${definition.id}' already exists`);
    await this.#table.put({
      Item: this.#summaryItem(summaryOf(version, version.created_at, false)),
      ConditionExpression: 'attribute_not_exists(id)',
    });
    return version;
  }

  update(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion> {
    const id = definition.id;
    return this.#versions.update(id, async () => {
      const summary = await this.#summary(id);
      if (!summary) throw new NotFoundError('Workflow', id);
      const latest = (await this.#versions.latest(id))!;
      // A version the summary does not know yet was written by an update that has not reached the
      // summary (or whose process died first): it is the latest, and it revives a retired workflow.
      const lagging = latest.version > summary.latest_version;
      const retired = summary.retired === true && !lagging;
      const version = versionOf(definition, latest.version + 1, now);
      // The same content as the latest version adds none (compared as stored: through JSON), except
      // on a retired workflow: a version of its own revives it.
      if (contentHash(version.definition) === contentHash(latest.definition) && !retired) {
        if (lagging) await this.#advanceSummary(latest, summary);
        return latest;
      }
      if (!(await this.#versions.put(version))) return undefined;
      await this.#advanceSummary(version, summary);
      return version;
    });
  }

  /**
   * Moves the summary to `version`, and revives the workflow. Only forward: a slower concurrent
   * update must not move the summary back to its own version.
   */
  async #advanceSummary(version: WorkflowVersion, summary: WorkflowSummary): Promise<void> {
    const next = summaryOf(version, summary.created_at, false);
    const sets = ['latest_version = :v', 'updated_at = :u'];
    const removes: string[] = ['retired'];
    const values: Item = { ':v': N(version.version), ':u': S(next.updated_at) };
    for (const field of ['name', 'description'] as const) {
      const value = next[field];
      if (value === undefined) removes.push(`#${field}`);
      else {
        sets.push(`#${field} = :${field}`);
        values[`:${field}`] = S(value);
      }
    }
    await this.#table.update({
      Key: this.#versions.summaryKey(version.id),
      UpdateExpression: `SET ${sets.join(', ')} REMOVE ${removes.join(', ')}`,
      ConditionExpression: 'latest_version < :v',
      ExpressionAttributeNames: { '#name': 'name', '#description': 'description' },
      ExpressionAttributeValues: values,
    });
  }

  get(id: string, version?: number): Promise<WorkflowVersion> {
    return this.#versions.get(id, version);
  }

  async versions(id: string, page?: PageRequest): Promise<Page<WorkflowVersionInfo>> {
    const limit = pageLimit(page);
    const before =
      page?.cursor === undefined
        ? undefined
        : positionNumber(this.#cursors.decode(workflowVersionsScope(id), page.cursor), 'before');
    if (before !== undefined && before <= 1) return { items: [] };
    const items = await this.#table.query(
      {
        KeyConditionExpression: 'id = :id AND sk BETWEEN :low AND :high',
        ExpressionAttributeValues: {
          ':id': S(id),
          ':low': S('v#'),
          ':high': before === undefined ? S('v#~') : this.#versions.versionKey(id, before - 1).sk!,
        },
        ProjectionExpression: '#version, created_at, content_hash',
        ExpressionAttributeNames: { '#version': 'version' },
        ScanIndexForward: false,
        Limit: limit + 1,
      },
      (found) => found.length > limit,
    );
    if (items.length === 0 && before === undefined) throw new NotFoundError('Workflow', id);
    const infos = await Promise.all(
      items.slice(0, limit).map(async (item): Promise<WorkflowVersionInfo> => {
        const version = number(item, 'version');
        // Versions stored before hashes were kept: hashed from their definition.
        const hash =
          optionalString(item, 'content_hash') ?? contentHash((await this.get(id, version)).definition);
        return { version, created_at: string(item, 'created_at'), content_hash: hash };
      }),
    );
    const result: Page<WorkflowVersionInfo> = { items: infos };
    if (items.length > limit) {
      result.next_cursor = this.#cursors.encode(workflowVersionsScope(id), { before: infos.at(-1)!.version });
    }
    return result;
  }

  async summary(id: string): Promise<WorkflowSummary> {
    const summary = await this.#summary(id);
    if (!summary) throw new NotFoundError('Workflow', id);
    return summary;
  }

  list(page?: PageRequest): Promise<Page<WorkflowSummary>> {
    return this.#versions.list(page, summaryFrom);
  }

  async retire(id: string, now: Date): Promise<void> {
    if (!(await this.#summary(id))) throw new NotFoundError('Workflow', id);
    await this.#table.update({
      Key: this.#versions.summaryKey(id),
      UpdateExpression: 'SET retired = :t, updated_at = :u',
      ExpressionAttributeValues: { ':t': { BOOL: true }, ':u': S(now.toISOString()) },
    });
  }

  /** The summary item, rebuilt from the versions when a process died before writing it. */
  async #summary(id: string): Promise<WorkflowSummary | undefined> {
    const item = await this.#table.get(this.#versions.summaryKey(id));
    if (item) return summaryFrom(item);
    const latest = await this.#versions.latest(id);
    if (!latest) return undefined;
    const first = latest.version === 1 ? latest : await this.get(id, 1);
    const summary = summaryOf(latest, first.created_at, false);
    await this.#table.put({
      Item: this.#summaryItem(summary),
      ConditionExpression: 'attribute_not_exists(id)',
    });
    return summary;
  }

  #summaryItem(summary: WorkflowSummary): Item {
    return {
      ...this.#versions.summaryKey(summary.id),
      kind: S(KIND),
      latest_version: N(summary.latest_version),
      created_at: S(summary.created_at),
      updated_at: S(summary.updated_at),
      ...(summary.name === undefined ? {} : { name: S(summary.name) }),
      ...(summary.description === undefined ? {} : { description: S(summary.description) }),
    };
  }
}

/** The version as it will be read back: its definition goes through JSON, as stored. */
function versionOf(definition: WorkflowDefinition, version: number, now: Date): WorkflowVersion {
  const stored = JSON.parse(definitionText(definition)) as WorkflowDefinition;
  return { id: definition.id, version, definition: stored, created_at: now.toISOString() };
}

function versionFrom(item: Item): WorkflowVersion {
  return {
    id: string(item, 'id'),
    version: number(item, 'version'),
    definition: json<WorkflowDefinition>(item, 'definition'),
    created_at: string(item, 'created_at'),
  };
}

function summaryFrom(item: Item): WorkflowSummary {
  const name = optionalString(item, 'name');
  const description = optionalString(item, 'description');
  return {
    id: string(item, 'id'),
    latest_version: number(item, 'latest_version'),
    ...(name === undefined ? {} : { name }),
    ...(description === undefined ? {} : { description }),
    created_at: string(item, 'created_at'),
    updated_at: string(item, 'updated_at'),
    ...(item.retired?.BOOL === true ? { retired: true } : {}),
  };
}
