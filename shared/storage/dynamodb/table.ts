/**
 * One table as the adapters use it: consistent reads, conditional writes that answer whether they
 * applied, and every SDK error translated at this one place.
 */
import {
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  type ScanCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { Item } from './attributes.js';
import { isConditionalCheckFailure, toStorageError } from './errors.js';

type Input<T> = Omit<T, 'TableName'>;

/** A write's outcome: `applied: false` when its condition did not hold (nothing was written). */
export interface WriteResult {
  applied: boolean;
  attributes?: Item;
}

export class Table {
  readonly client: DynamoDBClient;
  readonly name: string;

  constructor(client: DynamoDBClient, name: string) {
    this.client = client;
    this.name = name;
  }

  /** A strongly consistent read (a write that returned is always seen), of some attributes if asked. */
  async get(key: Item, projection?: string) {
    if (hasEmptyKey(key)) return undefined;
    try {
      const answer = await this.client.send(
        new GetItemCommand({
          TableName: this.name,
          Key: key,
          ConsistentRead: true,
          ...(projection ? { ProjectionExpression: projection } : {}),
        }),
      );
      return answer.Item;
    } catch (error) {
      throw toStorageError(error, { operation: 'get', table: this.name });
    }
  }

  async put(input: Input<PutItemCommandInput>): Promise<WriteResult> {
    return this.#write('put', () => this.client.send(new PutItemCommand({ TableName: this.name, ...input })));
  }

  async update(input: Input<UpdateItemCommandInput>): Promise<WriteResult> {
    if (input.ConditionExpression && hasEmptyKey(input.Key)) return { applied: false };
    return this.#write('update', () =>
      this.client.send(new UpdateItemCommand({ TableName: this.name, ...input })),
    );
  }

  async delete(input: Input<DeleteItemCommandInput>): Promise<WriteResult> {
    if (input.ConditionExpression && hasEmptyKey(input.Key)) return { applied: false };
    return this.#write('delete', () =>
      this.client.send(new DeleteItemCommand({ TableName: this.name, ...input })),
    );
  }

  /** Every item of a query, page after page, until `enough` says to stop (default: all). */
  async query(input: Input<QueryCommandInput>, enough: (items: Item[]) => boolean = () => false) {
    const items: Item[] = [];
    let start: Item | undefined;
    try {
      do {
        const answer = await this.client.send(
          new QueryCommand({
            TableName: this.name,
            ...input,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        items.push(...(answer.Items ?? []));
        start = answer.LastEvaluatedKey;
      } while (start && !enough(items));
    } catch (error) {
      throw toStorageError(error, { operation: 'query', table: this.name });
    }
    return items;
  }

  /** Every item a scan finds, page after page: strongly consistent when asked. */
  async scan(input: Input<ScanCommandInput>): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    try {
      do {
        const answer = await this.client.send(
          new ScanCommand({ TableName: this.name, ...input, ...(start ? { ExclusiveStartKey: start } : {}) }),
        );
        items.push(...(answer.Items ?? []));
        start = answer.LastEvaluatedKey;
      } while (start);
    } catch (error) {
      throw toStorageError(error, { operation: 'scan', table: this.name });
    }
    return items;
  }

  async #write(operation: string, send: () => Promise<{ Attributes?: Item }>): Promise<WriteResult> {
    try {
      const answer = await send();
      return answer.Attributes ? { applied: true, attributes: answer.Attributes } : { applied: true };
    } catch (error) {
      if (isConditionalCheckFailure(error)) return { applied: false };
      throw toStorageError(error, { operation, table: this.name });
    }
  }
}

/**
 * No item has an empty string in its key (DynamoDB refuses one with a ValidationException), so a read
 * of one finds nothing and a conditional write on one cannot apply: as in the in-memory stores.
 */
function hasEmptyKey(key: Item | undefined): boolean {
  return Object.values(key ?? {}).some((value) => value.S === '');
}
