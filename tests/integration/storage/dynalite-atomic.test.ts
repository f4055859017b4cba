/**
 * dynalite writes an item and its secondary-index entries together: both or neither. dynalite
 * 4.0.0 wrote the index entries first and the item after, as separate LevelDB writes, so a process
 * killed in between left the runs table's status index disagreeing with the run item (a run listed
 * `completed` while its item said `running`; a queued run gone from the index). The fix is in
 * shared/storage/local/dynalite-atomic.ts. Here the LevelDB write of the item fails (as a kill
 * between the writes would leave it unwritten) and the index must not have moved either.
 */
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultTableNames, INDEXES, tableDefinitions } from '../../../shared/storage/dynamodb/tables.js';
import { createLocalDynamoDbClient, startDynalite } from '../../../shared/storage/local/dynalite.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const names = defaultTableNames('atomic');
const runsTable = tableDefinitions(names).find((definition) => definition.role === 'runs');
if (!runsTable) throw new Error('no runs table definition');

type Write = (this: unknown, ...args: unknown[]) => Promise<unknown>;
interface LevelPrototype {
  _put: Write;
  _del: Write;
  _batch: Write;
}

/** The in-memory LevelDB backend dynalite runs on here: its private writes are where a failure is injected. */
const memoryLevel = (
  createRequire(createRequire(import.meta.url).resolve('dynalite'))('memory-level') as {
    MemoryLevel: { prototype: LevelPrototype };
  }
).MemoryLevel.prototype;

const keyText = (key: unknown) =>
  typeof key === 'string' ? key : Buffer.from(key as Uint8Array).toString('utf8');

/** While on, every LevelDB write that touches an item of the runs table fails, as a kill before it would leave it unwritten. */
let failItemWrites = false;
const isRunItem = (key: unknown) => keyText(key).startsWith(`item-${names.runs}~`);
const original = { _put: memoryLevel._put, _del: memoryLevel._del, _batch: memoryLevel._batch };
// dynalite answers an error with a statusCode and body (any other error it throws, out of the request).
const injected = Object.assign(new Error('injected: the item write did not happen'), {
  statusCode: 500,
  body: { __type: 'com.amazonaws.dynamodb.v20120810#InternalFailure', message: 'injected write failure' },
});

beforeEach(() => {
  memoryLevel._put = function (key, ...rest) {
    if (failItemWrites && isRunItem(key)) return Promise.reject(injected);
    return original._put.call(this, key, ...rest);
  };
  memoryLevel._del = function (key, ...rest) {
    if (failItemWrites && isRunItem(key)) return Promise.reject(injected);
    return original._del.call(this, key, ...rest);
  };
  memoryLevel._batch = function (operations, ...rest) {
    if (failItemWrites && (operations as Array<{ key: unknown }>).some((op) => isRunItem(op.key))) {
      return Promise.reject(injected);
    }
    return original._batch.call(this, operations, ...rest);
  };
});

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  failItemWrites = false;
  Object.assign(memoryLevel, original);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function runsOnDynalite(): Promise<DynamoDBClient> {
  const local = await startDynalite();
  cleanups.push(() => local.close());
  // One attempt: a failed write must not be retried into success.
  const client = createLocalDynamoDbClient({ endpoint: local.endpoint, maxAttempts: 1 });
  cleanups.push(() => client.destroy());
  await client.send(new CreateTableCommand(runsTable!.create));
  return client;
}

const run = (id: string, status: string) => ({
  pk: { S: `run#${id}` },
  sk: { S: 'run' },
  status: { S: status },
  workflow_status: { S: `wf#${status}` },
  order_key: { S: `2024-01-01T00:00:00Z#${id}` },
  workflow_id: { S: 'wf' },
});

/** What the run item says, and what each status index says, about one run. */
async function views(client: DynamoDBClient, id: string) {
  const item = await client.send(
    new GetItemCommand({
      TableName: names.runs,
      Key: { pk: { S: `run#${id}` }, sk: { S: 'run' } },
      ConsistentRead: true,
    }),
  );
  const listed = async (index: string, hashKey: string, prefix: string) => {
    const statuses: string[] = [];
    for (const status of ['queued', 'running', 'completed']) {
      const page = await client.send(
        new QueryCommand({
          TableName: names.runs,
          IndexName: index,
          KeyConditionExpression: '#h = :h',
          ExpressionAttributeNames: { '#h': hashKey },
          ExpressionAttributeValues: { ':h': { S: `${prefix}${status}` } },
        }),
      );
      if (page.Items?.some((listedItem) => listedItem.pk?.S === `run#${id}`)) statuses.push(status);
    }
    return statuses;
  };
  return {
    item: item.Item?.status?.S ?? null,
    byStatus: await listed(INDEXES.runsByStatus, 'status', ''),
    byWorkflowStatus: await listed(INDEXES.runsByWorkflowStatus, 'workflow_status', 'wf#'),
  };
}

const listedAs = (status: string | null) => ({
  item: status,
  byStatus: status ? [status] : [],
  byWorkflowStatus: status ? [status] : [],
});

describe('dynalite writes an item and its index entries together', () => {
  it('a PutItem whose item write fails leaves no index entry', async () => {
    const client = await runsOnDynalite();
    failItemWrites = true;
    await expect(
      client.send(new PutItemCommand({ TableName: names.runs, Item: run('1', 'queued') })),
    ).rejects.toThrow();
    failItemWrites = false;
    expect(await views(client, '1')).toEqual(listedAs(null));
  });

  it('a PutItem or UpdateItem whose item write fails leaves the index where the item is', async () => {
    const client = await runsOnDynalite();
    await client.send(new PutItemCommand({ TableName: names.runs, Item: run('1', 'queued') }));
    expect(await views(client, '1')).toEqual(listedAs('queued'));

    failItemWrites = true;
    await expect(
      client.send(
        new UpdateItemCommand({
          TableName: names.runs,
          Key: { pk: { S: 'run#1' }, sk: { S: 'run' } },
          UpdateExpression: 'SET #s = :s, workflow_status = :ws',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': { S: 'running' }, ':ws': { S: 'wf#running' } },
        }),
      ),
    ).rejects.toThrow();
    await expect(
      client.send(new PutItemCommand({ TableName: names.runs, Item: run('1', 'completed') })),
    ).rejects.toThrow();
    failItemWrites = false;
    expect(await views(client, '1')).toEqual(listedAs('queued'));

    // Without the failure the same writes move the item and its index entries together.
    await client.send(new PutItemCommand({ TableName: names.runs, Item: run('1', 'completed') }));
    expect(await views(client, '1')).toEqual(listedAs('completed'));
  });

  it('a DeleteItem whose item delete fails keeps the index entries', async () => {
    const client = await runsOnDynalite();
    await client.send(new PutItemCommand({ TableName: names.runs, Item: run('1', 'running') }));

    failItemWrites = true;
    await expect(
      client.send(
        new DeleteItemCommand({ TableName: names.runs, Key: { pk: { S: 'run#1' }, sk: { S: 'run' } } }),
      ),
    ).rejects.toThrow();
    failItemWrites = false;
    expect(await views(client, '1')).toEqual(listedAs('running'));

    await client.send(
      new DeleteItemCommand({ TableName: names.runs, Key: { pk: { S: 'run#1' }, sk: { S: 'run' } } }),
    );
    expect(await views(client, '1')).toEqual(listedAs(null));
  });
});
