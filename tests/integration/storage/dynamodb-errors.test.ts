/**
 * The AWS error paths no emulator produces, through a real DynamoDB client and adapter against a
 * loopback server that answers as DynamoDB does when it throttles or fails: the SDK retries, and
 * what finally reaches the caller is a domain error with the cause kept.
 */
import { createServer, type Server } from 'node:http';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { NotFoundError, StorageError, ThrottledError } from '../../../shared/errors.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../../shared/storage/dynamodb/runs.js';
import { createLocalDynamoDbClient } from '../../../shared/storage/local/dynalite.js';
import { listenOnLoopback } from '../../support/server-process.js';
import { TEST_CURSOR_KEY } from '../../support/stores.js';
import { failure } from './fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

type Answer = { status: number; type?: string; body?: unknown };

let server: Server | undefined;
let client: DynamoDBClient | undefined;

afterEach(async () => {
  client?.destroy();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
  }
  server = undefined;
  client = undefined;
});

/** A server that gives the answers in turn (the last one from then on), counting requests. */
async function fakeDynamoDb(answers: Answer[]) {
  const seen = { requests: 0 };
  server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const answer = answers[Math.min(seen.requests, answers.length - 1)]!;
      seen.requests += 1;
      const body = answer.type
        ? { __type: `com.amazonaws.dynamodb.v20120810#${answer.type}`, message: `${answer.type} (fake)` }
        : (answer.body ?? {});
      response.writeHead(answer.status, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': `req-${seen.requests}`,
        ...(answer.type ? { 'x-amzn-errortype': answer.type } : {}),
      });
      response.end(JSON.stringify(body));
    });
  });
  return { endpoint: await listenOnLoopback(server), seen };
}

function runStore(endpoint: string, maxAttempts?: number) {
  client = createLocalDynamoDbClient({ endpoint, ...(maxAttempts === undefined ? {} : { maxAttempts }) });
  return new DynamoDbRunStore({
    client,
    table: 'flowrunner-runs',
    cursors: new CursorCodec(TEST_CURSOR_KEY),
  });
}

describe('DynamoDB error paths', () => {
  it('retries a throttled request and goes on when DynamoDB recovers', async () => {
    const { endpoint, seen } = await fakeDynamoDb([
      { status: 400, type: 'ProvisionedThroughputExceededException' },
      { status: 200, body: {} },
    ]);
    expect(await failure(runStore(endpoint).get('run_1'))).toBeInstanceOf(NotFoundError);
    expect(seen.requests).toBe(2);
  });

  it('raises a retryable ThrottledError when the attempts run out, keeping the cause', async () => {
    const { endpoint, seen } = await fakeDynamoDb([{ status: 400, type: 'ThrottlingException' }]);
    const error = await failure(runStore(endpoint, 2).get('run_1'));
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({ code: 'Throttled', retryable: true });
    expect((error as Error).cause).toMatchObject({ name: 'ThrottlingException' });
    expect(seen.requests).toBe(2);
  });

  it('raises a retryable StorageError for a server error, keeping the cause', async () => {
    const { endpoint } = await fakeDynamoDb([{ status: 500, type: 'InternalServerError' }]);
    const error = await failure(runStore(endpoint, 1).events('run_1'));
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'StorageError', retryable: true });
    expect((error as Error).cause).toMatchObject({ name: 'InternalServerError' });
  });

  it('raises StorageAccessDenied when the role may not use the table', async () => {
    const { endpoint } = await fakeDynamoDb([{ status: 400, type: 'AccessDeniedException' }]);
    const error = await failure(runStore(endpoint, 1).get('run_1'));
    expect(error).toMatchObject({ code: 'StorageAccessDenied', retryable: false });
  });

  it('raises a retryable StorageUnavailable when nothing answers', async () => {
    const { endpoint } = await fakeDynamoDb([{ status: 200 }]);
    server!.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const error = await failure(runStore(endpoint, 1).get('run_1'));
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'StorageUnavailable', retryable: true });
  });
});
