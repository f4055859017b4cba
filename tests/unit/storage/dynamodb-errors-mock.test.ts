/**
 * The DynamoDB adapters' error paths that neither emulator produces: throttling, a missing table,
 * refused conditions seen from the SDK's side, unknown failures. Each must reach callers as a typed
 * Flowrunner error, never a raw SDK error.
 *
 * aws-sdk-client-mock replaces `client.send`, so the SDK's middleware (retries included) never runs
 * under it: the mapping tests use it, and the retry tests give the client from the factory a fake
 * HTTP handler instead, so the real retry strategy (attempts, backoff) runs against scripted answers.
 */
import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  type DynamoDBClientConfig,
  DynamoDBServiceException,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  ThrottlingException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WorkflowDefinition, WorkflowVersion } from '../../../shared/definition/schema.js';
import { apply, createRun } from '../../../shared/engine/transition.js';
import type { Transition } from '../../../shared/engine/types.js';
import {
  ConflictError,
  NotFoundError,
  StaleCheckpointError,
  StorageError,
  ThrottledError,
} from '../../../shared/errors.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { createDynamoDbClient, DYNAMODB_MAX_ATTEMPTS } from '../../../shared/storage/dynamodb/client.js';
import { DynamoDbRunStore } from '../../../shared/storage/dynamodb/runs.js';
import { DynamoDbWorkflowStore } from '../../../shared/storage/dynamodb/workflows.js';
import { failure } from '../../support/failure.js';
import {
  awsException,
  awsServiceException,
  MOCK_AWS_CLIENT_CONFIG,
  mockAwsClient,
} from '../../support/sdk-errors.js';

const RUNS = 'flowrunner-test-runs';
const WORKFLOWS = 'flowrunner-test-workflows';
const cursors = new CursorCodec('dynamodb-mock-cursor-key');
const now = new Date('2026-03-01T10:00:00.000Z');

const definition: WorkflowDefinition = {
  schema_version: '1.0',
  id: 'mocked',
  steps: [
    { id: 'first', type: 'transform', config: { output: { n: 1 } }, next: 'second' },
    { id: 'second', type: 'transform', config: { output: { n: 2 } } },
  ],
};
const workflow: WorkflowVersion = { id: 'mocked', version: 1, definition, created_at: now.toISOString() };

/** A run's `createRun` transition and the `start` transition after it (checkpoint 0 → 1). */
function runTransitions(runId: string): { created: Transition; started: Transition } {
  const created = createRun({ id: runId, workflow, inputs: {}, now });
  const started = apply(
    workflow,
    structuredClone(created.state),
    { type: 'start' },
    { now, registry: createStepRegistry() },
  );
  expect(started.accepted).toBe(true);
  expect(started.state.checkpoint).toBe(1);
  return { created, started };
}

function mocked() {
  const { client, mock: ddb } = mockAwsClient(DynamoDBClient);
  const runs = new DynamoDbRunStore({ client, table: RUNS, cursors });
  const workflows = new DynamoDbWorkflowStore({ client, table: WORKFLOWS, cursors });
  return { client, ddb, runs, workflows };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('DynamoDB adapters: the exact commands of a commit', () => {
  it('creates a snapshot commit item and the run item, then commits one conditional PutItem of a delta', async () => {
    const { ddb, runs } = mocked();
    ddb.on(PutItemCommand).resolves({});
    ddb.on(UpdateItemCommand).resolves({});
    const { created, started } = runTransitions('run_cmd');

    await runs.create(created);
    await runs.commit(started, { inbox_cursor: 3, steps: ['first'] });

    const puts = ddb.commandCalls(PutItemCommand).map((call) => call.args[0].input);
    expect(puts).toHaveLength(3);
    expect(puts[0]).toMatchObject({
      TableName: RUNS,
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { pk: { S: 'run_cmd' }, sk: { S: 'c#000000000000#000000000000' }, c: { N: '0' } },
    });
    expect(JSON.parse(puts[0]!.Item!.state!.S!)).toEqual(created.state);
    expect(puts[1]).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { pk: { S: 'run_cmd' }, sk: { S: 'run' }, status: { S: 'queued' } },
    });

    // The commit: no read first (the tip is known from the create), one conditional put whose key
    // every process committing after checkpoint 0 would name, holding only what changed.
    expect(ddb.commandCalls(GetItemCommand)).toHaveLength(0);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
    const commit = puts[2]!;
    expect(commit).toMatchObject({
      TableName: RUNS,
      ConditionExpression: 'attribute_not_exists(pk)',
      Item: { pk: { S: 'run_cmd' }, sk: { S: 'c#000000000001#000000000001' }, c: { N: '1' }, i: { N: '3' } },
    });
    expect(commit.Item!.state).toBeUndefined();
    const diff = JSON.parse(commit.Item!.diff!.S!) as {
      run: { status: string };
      steps: Record<string, unknown>;
    };
    expect(diff.run.status).toBe('running');
    expect(Object.keys(diff.steps)).toEqual(['first']);
    expect(JSON.parse(commit.Item!.log!.S!).e.map((e: { type: string }) => e.type)).toEqual([
      'run.started',
      'step.started',
    ]);
    // The status changed, so the run item follows, never backwards.
    const updates = ddb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      Key: { pk: { S: 'run_cmd' }, sk: { S: 'run' } },
      ConditionExpression: 'attribute_not_exists(pk) OR #checkpoint < :checkpoint',
    });
    expect(updates[0]!.ExpressionAttributeValues?.[':status']).toEqual({ S: 'running' });
  });
});

describe('DynamoDB adapters: refused conditions become typed conflicts', () => {
  it('commit: ConditionalCheckFailedException on the commit item → StaleCheckpointError, with no read', async () => {
    const { ddb, runs } = mocked();
    const { created, started } = runTransitions('run_stale');
    ddb
      .on(PutItemCommand)
      .resolvesOnce({})
      .resolvesOnce({})
      .rejects(awsException(ConditionalCheckFailedException, 'The conditional request failed', 400));
    await runs.create(created);

    const error = await failure(runs.commit(started));

    expect(error).toBeInstanceOf(StaleCheckpointError);
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.code).toBe('Conflict');
    expect(error.message).toContain('run_stale');
    expect(error.message).toContain('checkpoint 0');
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(3);
    expect(ddb.commandCalls(QueryCommand)).toHaveLength(0);
  });

  it('commit on a run that is not stored: the read before it finds nothing → NotFoundError', async () => {
    const { ddb, runs } = mocked();
    const { started } = runTransitions('run_gone');
    ddb.on(QueryCommand).resolves({ Items: [] });

    const error = await failure(runs.commit(started));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).not.toBeInstanceOf(StaleCheckpointError);
    expect(ddb.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('create of a run: ConditionalCheckFailedException → ConflictError (not a stale checkpoint)', async () => {
    const { ddb, runs } = mocked();
    ddb.on(PutItemCommand).rejects(awsException(ConditionalCheckFailedException, 'failed', 400));

    const error = await failure(runs.create(runTransitions('run_dup').created));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error).not.toBeInstanceOf(StaleCheckpointError);
    expect(error.message).toContain('run_dup');
    expect(error.retryable).toBe(false);
  });

  it('create of a workflow: ConditionalCheckFailedException → ConflictError', async () => {
    const { ddb, workflows } = mocked();
    ddb.on(PutItemCommand).rejects(awsException(ConditionalCheckFailedException, 'failed', 400));

    const error = await failure(workflows.create(definition, now));

    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toContain('mocked');
    const put = ddb.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(put.TableName).toBe(WORKFLOWS);
    expect(put.ConditionExpression).toBe('attribute_not_exists(id)');
  });
});

describe('DynamoDB adapters: SDK failures become storage errors', () => {
  it.each([
    [
      'ProvisionedThroughputExceededException',
      () => awsException(ProvisionedThroughputExceededException, 'slow down', 400),
    ],
    ['ThrottlingException', () => awsException(ThrottlingException, 'Rate exceeded', 400)],
  ])(
    '%s that reached the adapter → ThrottledError (retryable), sent once by the adapter',
    async (name, make) => {
      const { ddb, runs } = mocked();
      const thrown = make();
      ddb.on(QueryCommand).rejects(thrown);

      const error = await failure(runs.get('run_busy'));

      expect(error).toBeInstanceOf(ThrottledError);
      expect(error.retryable).toBe(true);
      expect(error.code).toBe('Throttled');
      expect(error.cause).toBe(thrown);
      expect(error.details).toMatchObject({ table: RUNS, error: name });
      // The SDK retries; the adapter does not multiply those attempts by retrying on top.
      expect(ddb.commandCalls(QueryCommand)).toHaveLength(1);
    },
  );

  it('ResourceNotFoundException (missing table) → StorageError naming the table, not retryable', async () => {
    const { ddb, runs } = mocked();
    const thrown = awsException(ResourceNotFoundException, 'Requested resource not found', 400);
    ddb.on(UpdateItemCommand).rejects(thrown);
    ddb.on(PutItemCommand).rejects(thrown);
    ddb.on(GetItemCommand).rejects(thrown);
    ddb.on(QueryCommand).rejects(thrown);

    for (const attempt of [
      runs.create(runTransitions('run_missing').created),
      runs.get('run_missing'),
      runs.setTaskToken('run_missing', 'token'),
    ]) {
      const error = await failure(attempt);
      expect(error).toBeInstanceOf(StorageError);
      expect(error).not.toBeInstanceOf(NotFoundError);
      expect(error.message).toContain(`'${RUNS}'`);
      expect(error.retryable).toBe(false);
      expect(error.cause).toBe(thrown);
    }
  });

  it('a missing table on a query (run lists) is a StorageError too', async () => {
    const { ddb, runs } = mocked();
    ddb.on(QueryCommand).rejects(awsException(ResourceNotFoundException, 'not found', 400));

    const error = await failure(runs.list({ workflow_id: 'mocked', status: 'running' }));

    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toContain(RUNS);
  });

  it('an unknown SDK error → StorageError with the cause kept, never the raw error', async () => {
    const { ddb, runs } = mocked();
    const thrown = awsServiceException(
      DynamoDBServiceException,
      'SomethingNewException',
      500,
      'internal failure',
    );
    ddb.on(QueryCommand).rejects(thrown);

    const error = await failure(runs.get('run_x'));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).not.toBe(thrown);
    expect(error).not.toBeInstanceOf(DynamoDBServiceException);
    expect(error.cause).toBe(thrown);
    expect(error.message).toContain('SomethingNewException');
    expect(error.details).toMatchObject({ table: RUNS, status: 500 });
  });

  it('a plain Error from below the SDK is wrapped as well', async () => {
    const { ddb, workflows } = mocked();
    const thrown = new TypeError('socket hang up');
    ddb.on(GetItemCommand).rejects(thrown);
    ddb.on(QueryCommand).rejects(thrown);

    const error = await failure(workflows.get('mocked'));

    expect(error).toBeInstanceOf(StorageError);
    expect(error.cause).toBe(thrown);
    expect(error.message).toContain(WORKFLOWS);
  });
});

/** One scripted HTTP answer: DynamoDB's JSON protocol, as the SDK's deserializer reads it. */
interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const throttled = (type = 'ProvisionedThroughputExceededException'): Answer => ({
  status: 400,
  body: {
    __type: `com.amazonaws.dynamodb.v20120810#${type}`,
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  },
});

/**
 * A client from the adapters' own factory whose HTTP layer answers from a script by operation
 * (`X-Amz-Target`), recording when each request arrived.
 */
function scriptedClient(script: (operation: string, attempt: number) => Answer) {
  const calls: Array<{ operation: string; at: number }> = [];
  const requestHandler: DynamoDBClientConfig['requestHandler'] = {
    async handle(request: { headers: Record<string, string> }) {
      const operation = (request.headers['x-amz-target'] ?? '').replace('DynamoDB_20120810.', '');
      const attempt = calls.filter((call) => call.operation === operation).length + 1;
      calls.push({ operation, at: performance.now() });
      const answer = script(operation, attempt);
      return {
        response: {
          statusCode: answer.status,
          reason: answer.status === 200 ? 'OK' : 'Bad Request',
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: new TextEncoder().encode(JSON.stringify(answer.body)),
        },
      };
    },
  } as unknown as DynamoDBClientConfig['requestHandler'];
  const client = createDynamoDbClient({
    ...MOCK_AWS_CLIENT_CONFIG,
    endpoint: 'http://127.0.0.1:9',
    requestHandler,
  });
  return { client, calls };
}

describe('DynamoDB client factory: throttling is retried with backoff', () => {
  it('retries a throttled commit and succeeds when DynamoDB recovers', async () => {
    // Pin the jitter low so the backoff costs ~30 ms of real time.
    vi.spyOn(Math, 'random').mockReturnValue(0.01);
    // The create's two puts go through; the commit's put is throttled twice.
    const { client, calls } = scriptedClient((operation, attempt) =>
      operation === 'PutItem' && (attempt === 3 || attempt === 4) ? throttled() : { status: 200, body: {} },
    );
    const runs = new DynamoDbRunStore({ client, table: RUNS, cursors });
    const { created, started } = runTransitions('run_retry');

    await runs.create(created);
    await runs.commit(started);

    expect(calls.map((call) => call.operation)).toEqual([
      'PutItem',
      'PutItem',
      'PutItem',
      'PutItem',
      'PutItem',
      'UpdateItem',
    ]);
  });

  it('gives up after the configured attempts with growing waits, then raises ThrottledError', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.01);
    // The waits the SDK asks for, not the time they took: a busy machine stretches the latter.
    const asked: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => {
      if (typeof ms === 'number' && ms > 0) asked.push(ms);
      return realSetTimeout(fn, ms);
    }) as typeof setTimeout);
    const { client, calls } = scriptedClient((operation, attempt) =>
      operation === 'PutItem' && attempt > 2 ? throttled() : { status: 200, body: {} },
    );
    const runs = new DynamoDbRunStore({ client, table: RUNS, cursors });
    const { created, started } = runTransitions('run_throttled');
    await runs.create(created);

    const error = await failure(runs.commit(started));

    expect(error).toBeInstanceOf(ThrottledError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain(RUNS);
    expect((error.cause as { name?: string }).name).toBe('ProvisionedThroughputExceededException');
    expect((error.cause as { $metadata?: { attempts?: number } }).$metadata?.attempts).toBe(
      DYNAMODB_MAX_ATTEMPTS,
    );
    const commits = calls.filter((call) => call.operation === 'PutItem').slice(2);
    expect(DYNAMODB_MAX_ATTEMPTS).toBeGreaterThanOrEqual(3);
    expect(commits).toHaveLength(DYNAMODB_MAX_ATTEMPTS);
    // Exponential backoff: one wait between attempts, each longer than the one before (same
    // jitter, doubled base).
    const waits = asked.slice(-(DYNAMODB_MAX_ATTEMPTS - 1));
    expect(waits).toHaveLength(DYNAMODB_MAX_ATTEMPTS - 1);
    expect(waits[0]!).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < waits.length; i++) expect(waits[i]!).toBeGreaterThan(waits[i - 1]! * 1.5);
  });

  it('does not retry what retrying cannot fix: a refused condition is sent once', async () => {
    const { client, calls } = scriptedClient((operation, attempt) =>
      operation === 'PutItem' && attempt > 2
        ? {
            status: 400,
            body: {
              __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
              message: 'The conditional request failed',
            },
          }
        : { status: 200, body: {} },
    );
    const runs = new DynamoDbRunStore({ client, table: RUNS, cursors });
    const { created, started } = runTransitions('run_race');
    await runs.create(created);

    const error = await failure(runs.commit(started));

    expect(error).toBeInstanceOf(StaleCheckpointError);
    expect(calls.filter((call) => call.operation === 'PutItem')).toHaveLength(3);
  });

  it('a missing table is not retried: one request, then a StorageError naming it', async () => {
    const { client, calls } = scriptedClient(() => ({
      status: 400,
      body: {
        __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
        message: 'Requested resource not found',
      },
    }));
    const runs = new DynamoDbRunStore({ client, table: RUNS, cursors });

    const error = await failure(runs.get('run_nowhere'));

    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toContain(RUNS);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.operation).toBe('Query');
  });
});

describe('DynamoDB client factory: requests reuse what the SDK builds', () => {
  it('builds its middleware stack once per command type, not once per request', async () => {
    const { client, calls } = scriptedClient(() => ({ status: 200, body: {} }));
    const built = vi.spyOn(GetItemCommand.prototype, 'resolveMiddleware');
    const key = { pk: { S: 'a' }, sk: { S: 'b' } };
    for (let i = 0; i < 3; i++) await client.send(new GetItemCommand({ TableName: RUNS, Key: key }));

    expect(calls).toHaveLength(3);
    expect(built).toHaveBeenCalledTimes(1);
  });
});
