/**
 * The ListenerStore on DynamoDB: one item per listener, found by its source through `by_source`
 * (`s3#<bucket>`, `eventbridge#<source>`, `schedule`; key prefixes and detail-types are then checked
 * on that handful) and listed by id through `by_kind`. Webhooks are found by their id.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { Listener, ListenerSource, ListenerStore, Page, PageRequest } from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { LISTENERS_SCOPE, pageLimit } from '../paging.js';
import { checkListener, listenerMatches, sourceKey } from '../rules.js';
import { type Item, json, S } from './attributes.js';
import { Table } from './table.js';
import { INDEXES } from './tables.js';

const KIND = 'listener';
const listenerKey = (id: string): Item => ({ id: S(id) });

export interface DynamoDbListenerStoreOptions {
  client: DynamoDBClient;
  table: string;
  cursors: CursorCodec;
}

export class DynamoDbListenerStore implements ListenerStore {
  readonly #table: Table;
  readonly #cursors: CursorCodec;

  constructor(options: DynamoDbListenerStoreOptions) {
    this.#table = new Table(options.client, options.table);
    this.#cursors = options.cursors;
  }

  async create(listener: Listener): Promise<void> {
    checkListener(listener);
    const source = sourceKey(listener);
    const { applied } = await this.#table.put({
      Item: {
        ...listenerKey(listener.id),
        kind: S(KIND),
        ...(source === undefined ? {} : { source_key: S(source) }),
        listener: S(JSON.stringify(listener)),
      },
      ConditionExpression: 'attribute_not_exists(id)',
    });
    if (!applied) throw new ConflictError(`Listener '${listener.id}' already exists`);
  }

  async get(id: string): Promise<Listener> {
    const item = await this.#table.get(listenerKey(id));
    if (!item) throw new NotFoundError('Listener', id);
    return json<Listener>(item, 'listener');
  }

  async list(page?: PageRequest): Promise<Page<Listener>> {
    const limit = pageLimit(page);
    const after =
      page?.cursor === undefined
        ? undefined
        : positionString(this.#cursors.decode(LISTENERS_SCOPE, page.cursor), 'id');
    const items = await this.#table.query(
      {
        IndexName: INDEXES.listenersByKind,
        KeyConditionExpression: after === undefined ? 'kind = :k' : 'kind = :k AND id > :after',
        ExpressionAttributeValues: { ':k': S(KIND), ...(after === undefined ? {} : { ':after': S(after) }) },
        Limit: limit + 1,
      },
      (found) => found.length > limit,
    );
    const listeners = items.slice(0, limit).map((item) => json<Listener>(item, 'listener'));
    const result: Page<Listener> = { items: listeners };
    if (items.length > limit)
      result.next_cursor = this.#cursors.encode(LISTENERS_SCOPE, { id: listeners.at(-1)!.id });
    return result;
  }

  async delete(id: string): Promise<void> {
    const { applied } = await this.#table.delete({
      Key: listenerKey(id),
      ConditionExpression: 'attribute_exists(id)',
    });
    if (!applied) throw new NotFoundError('Listener', id);
  }

  async find(source: ListenerSource): Promise<Listener[]> {
    if (source.type === 'webhook') {
      const item = await this.#table.get(listenerKey(source.id));
      const listener = item && json<Listener>(item, 'listener');
      return listener && listenerMatches(listener, source) ? [listener] : [];
    }
    const items = await this.#table.query({
      IndexName: INDEXES.listenersBySource,
      KeyConditionExpression: 'source_key = :s',
      ExpressionAttributeValues: { ':s': S(sourceKey(source)!) },
    });
    return items.map((item) => json<Listener>(item, 'listener')).filter((l) => listenerMatches(l, source));
  }
}
