/** The DynamoDB client every runtime builds: retries with backoff for throttling and transient errors. */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/**
 * Attempts per request, the first included. The SDK's standard mode backs off exponentially with
 * jitter (throttling errors from a longer base); after the last attempt the adapters raise ThrottledError.
 */
export const DYNAMODB_MAX_ATTEMPTS = 5;

export function createDynamoDbClient(config: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ maxAttempts: DYNAMODB_MAX_ATTEMPTS, retryMode: 'standard', ...config });
}
