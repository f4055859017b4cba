/**
 * The embedded stores for tests and the benchmark: dynalite (or any DynamoDB endpoint) with clients
 * that are destroyed with it and tables no other test uses, and the local S3 with a bucket. Each
 * comes as `start…` (close it yourself) and as `use…` (started before a file's tests, closed after).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterEach } from 'vitest';
import { createDynamoDbStores, type DynamoDbStoreOptions } from '../../shared/storage/dynamodb/stores.js';
import { createTables, defaultTableNames, type TableNames } from '../../shared/storage/dynamodb/tables.js';
import { createLocalDynamoDbClient, startDynalite } from '../../shared/storage/local/dynalite.js';
import { createS3Client, ensureBucket, startS3rver } from '../../shared/storage/local/s3rver.js';
import { startedForFile } from './cleanup.js';

export const TEST_CURSOR_KEY = 'storage-cursor-key-for-tests';
export const TEST_TOKEN_KEY = 'storage-token-key-for-tests!';

let tablesMade = 0;

/** Table names no other test uses: `t<n>-<random>-runs`, … */
export function uniqueTableNames(): TableNames {
  return defaultTableNames(`t${++tablesMade}-${randomBytes(3).toString('hex')}`);
}

export type StoreOverrides = Partial<
  Pick<DynamoDbStoreOptions, 'snapshotEvery' | 'snapshotMinBytes' | 'largePayloads'>
>;

/** The DynamoDB stores over `tables`, with the test keys. */
export function testDynamoDbStores(
  client: DynamoDBClient,
  tables: TableNames,
  overrides: StoreOverrides = {},
) {
  return createDynamoDbStores({
    client,
    tables,
    cursorKey: TEST_CURSOR_KEY,
    tokenKey: TEST_TOKEN_KEY,
    ...overrides,
  });
}

export interface TestDynamoDb {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** A new client on the endpoint, destroyed by `destroyClients` and `close`. */
  client(): DynamoDBClient;
  /** Creates the tables under a unique prefix, through `on` (default: a new client). */
  freshTables(on?: DynamoDBClient): Promise<TableNames>;
  /** Destroys every client made so far; the endpoint stays up. */
  destroyClients(): void;
  /** Destroys the clients and stops dynalite if it was started here; safe to call twice. */
  close(): Promise<void>;
}

export interface StartTestDynamoDbOptions {
  /** An endpoint already running (DynamoDB Local, a shared dynalite): no dynalite is started. */
  endpoint?: string;
  /** Where dynalite keeps its files (data survives a restart); in memory when undefined. */
  path?: string;
}

export async function startTestDynamoDb(options: StartTestDynamoDbOptions = {}): Promise<TestDynamoDb> {
  const started =
    options.endpoint === undefined
      ? await startDynalite(options.path === undefined ? {} : { path: options.path })
      : undefined;
  const endpoint = options.endpoint ?? started!.endpoint;
  const clients: DynamoDBClient[] = [];
  const client = () => {
    const made = createLocalDynamoDbClient({ endpoint });
    clients.push(made);
    return made;
  };
  const destroyClients = () => {
    for (const made of clients.splice(0)) made.destroy();
  };
  return {
    endpoint,
    client,
    async freshTables(on = client()) {
      const tables = uniqueTableNames();
      await createTables(on, tables);
      return tables;
    },
    destroyClients,
    async close() {
      destroyClients();
      await started?.close();
    },
  };
}

/** In-memory dynalite for a test file: started before its tests, each test's clients destroyed after it. */
export function useDynalite(): TestDynamoDb {
  const current = startedForFile(
    () => startTestDynamoDb(),
    (dynamo) => dynamo.close(),
    'dynalite',
  );
  afterEach(() => current().destroyClients());
  return {
    get endpoint() {
      return current().endpoint;
    },
    client: () => current().client(),
    freshTables: (on) => current().freshTables(on),
    destroyClients: () => current().destroyClients(),
    close: () => current().close(),
  };
}

export interface TestS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Where the objects are: `<directory>/<bucket>/<key>._S3rver_object`. */
  readonly directory: string;
  /** A client on the endpoint, where the bucket exists. */
  readonly client: S3Client;
  /** Destroys the client, stops the server, and removes its directory if it was made here. */
  close(): Promise<void>;
}

/** The local S3 (s3rver) with `bucket` created, on `directory` or a fresh temporary one. */
export async function startTestS3(bucket: string, directory?: string): Promise<TestS3> {
  const made = directory === undefined ? await mkdtemp(join(tmpdir(), 'flowrunner-s3-')) : undefined;
  const remove = async () => {
    if (made !== undefined) await rm(made, { recursive: true, force: true });
  };
  const server = await startS3rver({ directory: made ?? directory! }).catch(async (error: unknown) => {
    await remove();
    throw error;
  });
  const client = createS3Client({ endpoint: server.endpoint });
  const close = async () => {
    client.destroy();
    await server.close();
    await remove();
  };
  await ensureBucket(client, bucket).catch(async (error: unknown) => {
    await close();
    throw error;
  });
  return { endpoint: server.endpoint, directory: made ?? directory!, client, close };
}

/** The local S3 for a test file, with `bucket` created: started before its tests, closed after them. */
export function useLocalS3(bucket: string): TestS3 {
  const current = startedForFile(
    () => startTestS3(bucket),
    (s3) => s3.close(),
    'the local S3',
  );
  return {
    get endpoint() {
      return current().endpoint;
    },
    get directory() {
      return current().directory;
    },
    get client() {
      return current().client;
    },
    close: () => current().close(),
  };
}
