/**
 * The ListenerStore on DynamoDB: one item per listener. The definition is one JSON attribute; the
 * activity (fired, skipped, failed, last_*, next_fire_at) sits in attributes of its own, so a fire
 * counts with one atomic `ADD` and never rewrites (or races) the definition. Listeners are found by
 * their source through `by_source` (`s3#<bucket>`, `schedule`, and eventbridge listeners by the source
 * and detail-type their pattern requires: `sourceKey`; prefixes, suffixes and patterns are then matched
 * in process) and listed by id through `by_kind`. Webhooks are read by id.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
import type { CursorCodec } from '../cursor.js';
import { compareKeys, LISTENERS_SCOPE } from '../paging.js';
import {
  changedListener,
  checkListener,
  definitionOf,
  listenerMatches,
  listenerOf,
  sourceKey,
  sourceKeys,
} from '../rules.js';
import { type Item, json, N, optionalNumber, optionalString, S } from './attributes.js';
import { pageByKind } from './kind-pages.js';
import { Table } from './table.js';
import { INDEXES } from './tables.js';

const KIND = 'listener';
const listenerKey = (id: string): Item => ({ id: S(id) });
/** Concurrent PATCHes of one listener are applied one after the other: each retries on a lost race. */
const UPDATE_ATTEMPTS = 10;

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

  async create(definition: ListenerDefinition): Promise<Listener> {
    checkListener(definition);
    const stored = definitionOf(definition);
    const source = sourceKey(stored);
    const { applied } = await this.#table.put({
      Item: {
        ...listenerKey(stored.id),
        kind: S(KIND),
        ...(source === undefined ? {} : { source_key: S(source) }),
        listener: S(JSON.stringify(stored)),
      },
      ConditionExpression: 'attribute_not_exists(id)',
    });
    if (!applied) throw new ConflictError(`Listener '${stored.id}' already exists`);
    return listenerOf(stored, {});
  }

  async get(id: string): Promise<Listener> {
    const item = await this.#table.get(listenerKey(id));
    if (!item) throw new NotFoundError('Listener', id);
    return fromItem(item);
  }

  list(page?: PageRequest): Promise<Page<Listener>> {
    return pageByKind(
      this.#table,
      this.#cursors,
      { index: INDEXES.listenersByKind, kind: KIND, scope: LISTENERS_SCOPE },
      page,
      fromItem,
    );
  }

  async update(id: string, change: ListenerChange, now: Date): Promise<Listener> {
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const item = await this.#table.get(listenerKey(id));
      if (!item) throw new NotFoundError('Listener', id);
      const before = item.listener!.S!;
      const definition = changedListener(JSON.parse(before) as ListenerDefinition, change, now);
      checkListener(definition);
      const stored = definitionOf(definition);
      const source = sourceKey(stored);
      // Conditional on the definition read: a PATCH that ran in between is not overwritten.
      const { applied, attributes } = await this.#table.update({
        Key: listenerKey(id),
        UpdateExpression:
          source === undefined
            ? 'SET listener = :new REMOVE source_key'
            : 'SET listener = :new, source_key = :s',
        ConditionExpression: 'listener = :old',
        ExpressionAttributeValues: {
          ':new': S(JSON.stringify(stored)),
          ':old': S(before),
          ...(source === undefined ? {} : { ':s': S(source) }),
        },
        ReturnValues: 'ALL_NEW',
      });
      if (applied) return fromItem(attributes!);
    }
    throw new ConflictError(`Listener '${id}' is being changed by others: try again`);
  }

  async delete(id: string): Promise<void> {
    const { applied } = await this.#table.delete({
      Key: listenerKey(id),
      ConditionExpression: 'attribute_exists(id)',
    });
    if (!applied) throw new NotFoundError('Listener', id);
  }

  async find(source: ListenerSource): Promise<Listener[]> {
    const keys = sourceKeys(source);
    const reads =
      keys === undefined
        ? [this.#table.query({ IndexName: INDEXES.listenersByKind, ...keyIs('kind', KIND) })]
        : keys.map((key) =>
            this.#table.query({ IndexName: INDEXES.listenersBySource, ...keyIs('source_key', key) }),
          );
    // Each read is in id order; the keys are disjoint, so their union is sorted once.
    const items = (await Promise.all(reads)).flat();
    return items
      .map(fromItem)
      .filter((listener) => listenerMatches(listener, source))
      .sort((a, b) => compareKeys(a.id, b.id));
  }

  async recordFire(id: string, fire: ListenerFire): Promise<void> {
    const values: Item = { ':one': N(1) };
    let expression: string;
    switch (fire.outcome) {
      case 'started':
        expression = 'ADD fired :one SET last_fired_at = :at, last_run_id = :run';
        values[':at'] = S(fire.at);
        values[':run'] = S(fire.run_id);
        break;
      case 'skipped':
        expression = 'ADD skipped :one';
        break;
      case 'failed':
        expression = 'ADD failed :one SET last_error = :error';
        values[':error'] = S(JSON.stringify({ ...fire.error, at: fire.at }));
        break;
    }
    // A listener deleted meanwhile stays deleted: the condition keeps the update from recreating it.
    await this.#table.update({
      Key: listenerKey(id),
      UpdateExpression: expression,
      ConditionExpression: 'attribute_exists(id)',
      ExpressionAttributeValues: values,
    });
  }

  async setNextFire(id: string, at: string | undefined): Promise<void> {
    await this.#table.update({
      Key: listenerKey(id),
      UpdateExpression: at === undefined ? 'REMOVE next_fire_at' : 'SET next_fire_at = :at',
      ConditionExpression: 'attribute_exists(id)',
      ...(at === undefined ? {} : { ExpressionAttributeValues: { ':at': S(at) } }),
    });
  }
}

function keyIs(name: string, value: string) {
  return { KeyConditionExpression: `${name} = :key`, ExpressionAttributeValues: { ':key': S(value) } };
}

function fromItem(item: Item): Listener {
  const lastError = optionalString(item, 'last_error');
  const activity: Partial<ListenerActivity> = {
    fired: optionalNumber(item, 'fired') ?? 0,
    skipped: optionalNumber(item, 'skipped') ?? 0,
    failed: optionalNumber(item, 'failed') ?? 0,
  };
  for (const name of ['last_fired_at', 'last_run_id', 'next_fire_at'] as const) {
    const value = optionalString(item, name);
    if (value !== undefined) activity[name] = value;
  }
  if (lastError !== undefined) activity.last_error = JSON.parse(lastError) as ListenerActivity['last_error'];
  return listenerOf(json<ListenerDefinition>(item, 'listener'), activity);
}
