/**
 * dynalite closes the LevelDB iterator of every read (issue 9, defect 7). dynalite 4.0.0 closes
 * them with `iterator.return()`, which abstract-level's iterators lack, so without the fix in
 * shared/storage/local/dynalite.ts each Query, Scan and ListTables left one or two iterators open
 * for as long as the database, and memory grew with every request.
 *
 * On disk, a read also asks LevelDB for small batches (shared/storage/local/dynalite-read-batches.ts):
 * classic-level's native iterator keeps room for as many entries as a batch asks for until the
 * collector finalizes it, and it asked for 1,000 (64 KB) after the first entry.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  closeDynaliteIterators,
  createLocalDynamoDbClient,
  startDynalite,
} from '../../../shared/storage/local/dynalite.js';
import {
  classicLevelBinding,
  MAX_ENTRIES_PER_BATCH,
} from '../../../shared/storage/local/dynalite-read-batches.js';
import { type LevelIterators, trackLevelIterators } from './level-iterators.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Waits until no iterator is open. dynalite answers a request before the iterator it read with has
 * finished closing (closing is asynchronous), so the count may lag the answer a little; a leaked
 * iterator never closes, and the wait gives up after a bound generous enough for a loaded machine.
 */
async function allClosed(iterators: LevelIterators): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (iterators.open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return iterators.open();
}

async function tableWithItems(client: DynamoDBClient, items: number): Promise<string> {
  const table = 'iterators';
  await client.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'N' },
        { AttributeName: 'status', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'by-status',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  // dynalite makes a table ACTIVE on a timer (createTableMs 0 still waits a turn): on a loaded
  // machine a put sent at once found no table.
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: table });
  for (let n = 0; n < items; n++) {
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: 'run' }, sk: { N: String(n) }, status: { S: n % 2 ? 'odd' : 'even' } },
      }),
    );
  }
  return table;
}

describe.each([
  { where: 'in memory', onDisk: false },
  { where: 'on disk (LevelDB, as npm start runs it)', onDisk: true },
])('dynalite $where', ({ onDisk }) => {
  it('leaves no iterator open after Query, Scan and ListTables, read to the end or stopped at a Limit', async () => {
    // Counting starts before dynalite does: the start-up check's iterators are counted too.
    const iterators = trackLevelIterators();
    cleanups.push(() => iterators.stop());
    let path: string | undefined;
    if (onDisk) {
      const dir = await mkdtemp(join(tmpdir(), 'flowrunner-dynalite-iterators-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      path = dir;
    }
    const dynamo = await startDynalite(path === undefined ? {} : { path });
    cleanups.push(() => dynamo.close());
    const client = createLocalDynamoDbClient({ endpoint: dynamo.endpoint });
    cleanups.push(() => client.destroy());
    const TableName = await tableWithItems(client, 12);
    const before = iterators.opened();

    const reads = async () => {
      const all = await client.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'run' } },
        }),
      );
      expect(all.Items).toHaveLength(12);
      const page = await client.send(
        new QueryCommand({
          TableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'run' } },
          Limit: 3,
        }),
      );
      expect(page.Items).toHaveLength(3);
      const index = await client.send(
        new QueryCommand({
          TableName,
          IndexName: 'by-status',
          KeyConditionExpression: '#s = :s',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':s': { S: 'odd' } },
          ScanIndexForward: false,
          Limit: 2,
        }),
      );
      expect(index.Items).toHaveLength(2);
      expect((await client.send(new ScanCommand({ TableName }))).Items).toHaveLength(12);
      expect((await client.send(new ScanCommand({ TableName, Limit: 4 }))).Items).toHaveLength(4);
      expect((await client.send(new ListTablesCommand({}))).TableNames).toContain(TableName);
    };
    for (let round = 0; round < 5; round++) await reads();

    // The reads went through iterators (or this test would prove nothing), and every one closed.
    expect(iterators.opened() - before).toBeGreaterThanOrEqual(30);
    expect(await allClosed(iterators)).toBe(0);
  });
});

/** dynalite's own database module, as the start-up proof in dynalite.ts reaches it. */
const db = createRequire(createRequire(import.meta.url).resolve('dynalite'))('./db') as {
  create(options: object): {
    db: {
      close(): Promise<void>;
      values(options: object): AsyncIterator<unknown> & { return(): Promise<unknown> };
    };
  };
};

describe('a dynalite read', () => {
  it('that comes after its stream was destroyed ends the stream instead of failing it', async () => {
    // dynalite's value stream asks its iterator for the next item from `read()`; a read scheduled
    // before the stream's destroy() returned the iterator used to reject (LEVEL_ITERATOR_NOT_OPEN),
    // and the destroyed stream emitted that error with nobody listening: an uncaught exception
    // that stopped the local server (seen under the OpenAPI conformance test's paged reads).
    await closeDynaliteIterators();
    const store = db.create({});
    cleanups.push(() => store.db.close());
    const iterator = store.db.values({});
    await iterator.return();
    await expect(iterator.next()).resolves.toBeUndefined();
  });

  it('that comes after the database closed under it (a server stopping mid-request) ends the stream', async () => {
    await closeDynaliteIterators();
    const store = db.create({});
    const iterator = store.db.values({});
    await store.db.close();
    await expect(iterator.next()).resolves.toBeUndefined();
  });
});

describe('dynalite on disk (LevelDB, as npm start runs it)', () => {
  it(`reads LevelDB in batches of at most ${MAX_ENTRIES_PER_BATCH} entries, so a read keeps little native memory until it is collected`, async () => {
    // Every batch the native iterators hand back, seen above the cap or below it (whichever wraps first).
    const binding = classicLevelBinding();
    const nextv = binding.iterator_nextv;
    const batches: number[] = [];
    binding.iterator_nextv = async (context, size) => {
      const entries = await nextv(context, size);
      batches.push(entries.length);
      return entries;
    };
    cleanups.push(() => {
      binding.iterator_nextv = nextv;
    });
    const dir = await mkdtemp(join(tmpdir(), 'flowrunner-dynalite-batches-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const dynamo = await startDynalite({ path: dir });
    cleanups.push(() => dynamo.close());
    const client = createLocalDynamoDbClient({ endpoint: dynamo.endpoint });
    cleanups.push(() => client.destroy());
    // Small items: 16 KB of them (the byte bound of a batch) are far more than 64.
    const TableName = await tableWithItems(client, 400);
    batches.length = 0;

    const all = await client.send(
      new QueryCommand({
        TableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'run' } },
      }),
    );
    expect(all.Items).toHaveLength(400);
    expect((await client.send(new ScanCommand({ TableName }))).Items).toHaveLength(400);

    // The reads went through the native iterators in several full batches, none larger than the cap.
    expect(batches.filter((length) => length === MAX_ENTRIES_PER_BATCH).length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...batches)).toBe(MAX_ENTRIES_PER_BATCH);
  });
});
