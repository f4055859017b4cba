/**
 * Conformance targets on any DynamoDB endpoint (dynalite, DynamoDB Local): fresh tables per test
 * under a unique prefix, and peers with their own client, as another process would have.
 */
import { type StoreOverrides, startTestDynamoDb, testDynamoDbStores } from '../../support/stores.js';
import type { StoreTarget } from './conformance.js';

/** A factory for `describeStoreConformance`: each call creates tables on `endpoint()` and stores over them. */
export function dynamoDbTarget(
  endpoint: () => string,
  overrides: StoreOverrides = {},
): () => Promise<StoreTarget> {
  return async () => {
    const dynamo = await startTestDynamoDb({ endpoint: endpoint() });
    const tables = await dynamo.freshTables();
    const make = () => testDynamoDbStores(dynamo.client(), tables, overrides);
    return { stores: make(), peer: make, close: () => dynamo.close() };
  };
}
