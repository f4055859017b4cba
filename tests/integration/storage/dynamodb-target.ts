/**
 * Conformance targets on any DynamoDB endpoint (dynalite, DynamoDB Local): fresh tables per test
 * under a unique prefix, and peers with their own client, as another process would have.
 */
import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbStores, type DynamoDbStoreOptions } from '../../../shared/storage/dynamodb/stores.js';
import { createTables, defaultTableNames, type TableNames } from '../../../shared/storage/dynamodb/tables.js';
import { createLocalDynamoDbClient } from '../../../shared/storage/local/dynalite.js';
import type { StoreTarget } from './conformance.js';

export const TEST_CURSOR_KEY = 'storage-cursor-key-for-tests';
export const TEST_TOKEN_KEY = 'storage-token-key-for-tests!';

let tablesMade = 0;

/** Table names no other test uses: `t<n>-<random>-runs`, … */
export function uniqueTableNames(): TableNames {
  return defaultTableNames(`t${++tablesMade}-${randomBytes(3).toString('hex')}`);
}

export type StoreOverrides = Partial<Pick<DynamoDbStoreOptions, 'journalFlushBytes' | 'largePayloads'>>;

/** A factory for `describeStoreConformance`: each call creates tables on `endpoint()` and stores over them. */
export function dynamoDbTarget(
  endpoint: () => string,
  overrides: StoreOverrides = {},
): () => Promise<StoreTarget> {
  return async () => {
    const clients: DynamoDBClient[] = [];
    const client = () => {
      const made = createLocalDynamoDbClient({ endpoint: endpoint() });
      clients.push(made);
      return made;
    };
    const tables = uniqueTableNames();
    const make = () =>
      createDynamoDbStores({
        client: client(),
        tables,
        cursorKey: TEST_CURSOR_KEY,
        tokenKey: TEST_TOKEN_KEY,
        ...overrides,
      });
    await createTables(client(), tables);
    return {
      stores: make(),
      peer: make,
      close: async () => {
        for (const made of clients) made.destroy();
      },
    };
  };
}
