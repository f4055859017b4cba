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
import { type CursorCodec, positionString } from '../cursor.js';
import { pageLimit } from '../paging.js';
import {
  nextVersion,
  pinnedVersion,
  sameContent,
  TEMPLATES_SCOPE,
  templateContent,
} from '../template-rules.js';
import { type Item, N, number, optionalString, padded, S, string } from './attributes.js';
import { Table } from './table.js';
import { INDEXES } from './tables.js';
import { readVersion } from './versioned.js';

const KIND = 'template';
const PREFIX = 'template#';
/** Concurrent updates of one template each take the next free number; this bounds the retries. */
const MAX_UPDATE_ATTEMPTS = 5;

const partition = (id: string) => S(`${PREFIX}${id}`);
const versionKey = (id: string, version: number): Item => ({
  id: partition(id),
  sk: S(`v#${padded(version, 10)}`),
});
const summaryKey = (id: string): Item => ({ id: partition(id), sk: S('summary') });

export interface DynamoDbPromptTemplateStoreOptions {
  client: DynamoDBClient;
  /** The workflows table. */
  table: string;
  cursors: CursorCodec;
}

export class DynamoDbPromptTemplateStore implements PromptTemplateStore {
  readonly #table: Table;
  readonly #cursors: CursorCodec;

  constructor(options: DynamoDbPromptTemplateStoreOptions) {
    this.#table = new Table(options.client, options.table);
    this.#cursors = options.cursors;
  }

  async create(template: PromptTemplateContent, now: Date): Promise<PromptTemplate> {
    const content = templateContent(template);
    const version = nextVersion(content, undefined, now);
    if (!(await this.#putVersion(version))) {
      // A create that died after its version keeps the template listed once someone tries again.
      await this.#advanceSummary((await this.#latest(content.id))!, await this.#firstCreatedAt(content.id));
      throw new ConflictError(`Template '${content.id}' already exists`);
    }
    await this.#advanceSummary(version, version.created_at);
    return version;
  }

  async update(template: PromptTemplateContent, now: Date): Promise<PromptTemplate> {
    const content = templateContent(template);
    for (let attempt = 1; ; attempt++) {
      const latest = await this.#latest(content.id);
      if (!latest) throw new NotFoundError('Template', content.id);
      if (sameContent(content, latest)) return latest;
      const version = nextVersion(content, latest, now);
      if (await this.#putVersion(version)) {
        await this.#advanceSummary(version, await this.#firstCreatedAt(content.id));
        return version;
      }
      if (attempt >= MAX_UPDATE_ATTEMPTS) {
        throw new ConflictError(`Template '${content.id}' is being updated by others; try again`, {
          retryable: true,
        });
      }
    }
  }

  get(id: string, version?: number): Promise<PromptTemplate> {
    return readVersion('Template', id, version, {
      latest: () => this.#latest(id),
      exact: (n) => this.#table.get(versionKey(id, n)).then((item) => item && versionFrom(item)),
    });
  }

  async pinned(id: string, startedAt: string): Promise<PromptTemplate> {
    // The versions' numbers and dates (small items), newest first; then the one version that applies.
    const dates = await this.#table.query({
      KeyConditionExpression: 'id = :id AND begins_with(sk, :v)',
      ExpressionAttributeValues: { ':id': partition(id), ':v': S('v#') },
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

  async list(page?: PageRequest): Promise<Page<PromptTemplateSummary>> {
    const limit = pageLimit(page);
    const after =
      page?.cursor === undefined
        ? undefined
        : positionString(this.#cursors.decode(TEMPLATES_SCOPE, page.cursor), 'id');
    const items = await this.#table.query(
      {
        IndexName: INDEXES.workflowsByKind,
        KeyConditionExpression: after === undefined ? 'kind = :k' : 'kind = :k AND id > :after',
        ExpressionAttributeValues: {
          ':k': S(KIND),
          ...(after === undefined ? {} : { ':after': partition(after) }),
        },
        Limit: limit + 1,
      },
      (found) => found.length > limit,
    );
    const summaries = items.slice(0, limit).map(summaryFrom);
    const result: Page<PromptTemplateSummary> = { items: summaries };
    if (items.length > limit) {
      result.next_cursor = this.#cursors.encode(TEMPLATES_SCOPE, { id: summaries.at(-1)!.id });
    }
    return result;
  }

  async #putVersion(version: PromptTemplate): Promise<boolean> {
    const { applied } = await this.#table.put({
      Item: {
        ...versionKey(version.id, version.version),
        version: N(version.version),
        template: S(JSON.stringify(version)),
        created_at: S(version.created_at),
      },
      ConditionExpression: 'attribute_not_exists(id)',
    });
    return applied;
  }

  /** Points the summary at `latest`, never back at an older version (a slower concurrent update). */
  async #advanceSummary(latest: PromptTemplate, createdAt: string): Promise<void> {
    const hasDescription = latest.description !== undefined;
    await this.#table.update({
      Key: summaryKey(latest.id),
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

  async #latest(id: string): Promise<PromptTemplate | undefined> {
    const [item] = await this.#table.query(
      {
        KeyConditionExpression: 'id = :id AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':id': partition(id), ':v': S('v#') },
        ScanIndexForward: false,
        Limit: 1,
      },
      (found) => found.length > 0,
    );
    return item && versionFrom(item);
  }

  async #firstCreatedAt(id: string): Promise<string> {
    const first = await this.#table.get(versionKey(id, 1), 'created_at');
    return first ? string(first, 'created_at') : new Date(0).toISOString();
  }
}

function versionFrom(item: Item): PromptTemplate {
  return JSON.parse(string(item, 'template')) as PromptTemplate;
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
