/**
 * The PromptTemplateStore on DynamoDB, in the workflows table beside the workflows ("the other
 * definitions"): versions under `template#<id>` (`v#<n>` items, each written once by a conditional
 * put; `#` cannot occur in a workflow id, so the two never meet) and one summary item per template,
 * kind `template` on the by-kind index for listing. The summary follows the versions and only moves
 * forward; a process that died between the two writes is mended by the next write of that template.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConflictError, NotFoundError } from '../../errors.js';
import type {
  Page,
  PageRequest,
  PromptTemplate,
  PromptTemplateContent,
  PromptTemplateStore,
  PromptTemplateSummary,
} from '../../ports/index.js';
import type { CursorCodec } from '../cursor.js';
import {
  nextVersion,
  pinnedVersion,
  sameContent,
  TEMPLATES_SCOPE,
  templateContent,
} from '../template-rules.js';
import { type Item, N, number, optionalString, S, string } from './attributes.js';
import { Table } from './table.js';
import { VersionedItems } from './versioned.js';

const KIND = 'template';
const PREFIX = 'template#';

export interface DynamoDbPromptTemplateStoreOptions {
  client: DynamoDBClient;
  /** The workflows table. */
  table: string;
  cursors: CursorCodec;
}

export class DynamoDbPromptTemplateStore implements PromptTemplateStore {
  readonly #table: Table;
  readonly #versions: VersionedItems<PromptTemplate>;

  constructor(options: DynamoDbPromptTemplateStoreOptions) {
    this.#table = new Table(options.client, options.table);
    this.#versions = new VersionedItems(
      this.#table,
      {
        noun: 'Template',
        kind: KIND,
        listScope: TEMPLATES_SCOPE,
        partition: (id) => `${PREFIX}${id}`,
        attributes: (version) => ({ template: S(JSON.stringify(version)) }),
        fromItem: (item) => JSON.parse(string(item, 'template')) as PromptTemplate,
      },
      options.cursors,
    );
  }

  async create(template: PromptTemplateContent, now: Date): Promise<PromptTemplate> {
    const content = templateContent(template);
    const version = nextVersion(content, undefined, now);
    if (!(await this.#versions.put(version))) {
      // A create that died after its version keeps the template listed once someone tries again.
      await this.#advanceSummary(
        (await this.#versions.latest(content.id))!,
        await this.#firstCreatedAt(content.id),
      );
      throw new ConflictError(`Template '${content.id}' already exists`);
    }
    await this.#advanceSummary(version, version.created_at);
    return version;
  }

  update(template: PromptTemplateContent, now: Date): Promise<PromptTemplate> {
    const content = templateContent(template);
    return this.#versions.update(content.id, async () => {
      const latest = await this.#versions.latest(content.id);
      if (!latest) throw new NotFoundError('Template', content.id);
      if (sameContent(content, latest)) return latest;
      const version = nextVersion(content, latest, now);
      if (!(await this.#versions.put(version))) return undefined;
      await this.#advanceSummary(version, await this.#firstCreatedAt(content.id));
      return version;
    });
  }

  get(id: string, version?: number): Promise<PromptTemplate> {
    return this.#versions.get(id, version);
  }

  async pinned(id: string, startedAt: string): Promise<PromptTemplate> {
    // The versions' numbers and dates (small items), newest first; then the one version that applies.
    const dates = await this.#table.query({
      KeyConditionExpression: 'id = :id AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':id': S(`${PREFIX}${id}`), ':v': S('v#') },
      ProjectionExpression: '#version, created_at',
      ExpressionAttributeNames: { '#version': 'version' },
      ScanIndexForward: false,
    });
    const chosen = pinnedVersion(
      dates.map((item) => ({ version: number(item, 'version'), created_at: string(item, 'created_at') })),
      startedAt,
    );
    if (!chosen) throw new NotFoundError('Template', id);
    return this.get(id, chosen.version);
  }

  list(page?: PageRequest): Promise<Page<PromptTemplateSummary>> {
    return this.#versions.list(page, summaryFrom);
  }

  /** Points the summary at `latest`, never back at an older version (a slower concurrent update). */
  async #advanceSummary(latest: PromptTemplate, createdAt: string): Promise<void> {
    const hasDescription = latest.description !== undefined;
    await this.#table.update({
      Key: this.#versions.summaryKey(latest.id),
      UpdateExpression: `SET kind = :k, latest_version = :v, updated_at = :u, created_at = if_not_exists(created_at, :c)${
        hasDescription ? ', description = :d' : ' REMOVE description'
      }`,
      ConditionExpression: 'attribute_not_exists(latest_version) OR latest_version < :v',
      ExpressionAttributeValues: {
        ':k': S(KIND),
        ':v': N(latest.version),
        ':u': S(latest.created_at),
        ':c': S(createdAt),
        ...(hasDescription ? { ':d': S(latest.description!) } : {}),
      },
    });
  }

  async #firstCreatedAt(id: string): Promise<string> {
    const first = await this.#table.get(this.#versions.versionKey(id, 1), 'created_at');
    return first ? string(first, 'created_at') : new Date(0).toISOString();
  }
}

function summaryFrom(item: Item): PromptTemplateSummary {
  const description = optionalString(item, 'description');
  return {
    id: string(item, 'id').slice(PREFIX.length),
    latest_version: number(item, 'latest_version'),
    ...(description === undefined ? {} : { description }),
    created_at: string(item, 'created_at'),
    updated_at: string(item, 'updated_at'),
  };
}
