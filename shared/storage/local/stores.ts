/**
 * The production stores on one machine: the same DynamoDB and S3 adapters, pointed at dynalite and
 * a local S3 that keep their data on disk under the data directory (`FLOWRUNNER_DATA_DIR`,
 * default `.flowrunner/`). Tables and the bucket are created on first start; data survives a
 * restart and a kill -9 (every acknowledged write is in the files of the data directory).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../../errors.js';
import type { Clock, LargePayloads, Stores } from '../../ports/index.js';
import { createClaimCheck } from '../claim-check.js';
import { createDynamoDbStores } from '../dynamodb/stores.js';
import { createTables, defaultTableNames } from '../dynamodb/tables.js';
import { createS3Artifacts } from '../s3/artifacts.js';
import { createS3PayloadBlobs } from '../s3/payload-blobs.js';
import { lockDataDir } from './data-dir-lock.js';
import { createLocalDynamoDbClient, startDynalite } from './dynalite.js';
import { createS3Client, ensureBucket, type LocalS3, startS3rver } from './s3rver.js';

export const LOCAL_BUCKET = 'flowrunner-local';

export interface LocalStoresOptions {
  /** Where dynalite (`dynamodb/`), the local S3 (`s3/`) and the signing keys (`keys.json`) live. */
  dataDir: string;
  clock?: Clock;
  /** The local S3's port (0, the default, picks a free one; `npm start` serves FLOWRUNNER_S3_PORT). */
  s3Port?: number;
}

export interface LocalStores {
  stores: Stores;
  largePayloads: LargePayloads;
  dynamodbEndpoint: string;
  s3Endpoint: string;
  /** Runs found in the previous storage layout and moved to today's on this start (see docs/storage.md). */
  upgradedRuns: number;
  /** Each S3 notification of the local S3 (puts, copies, deletes), for the local S3 listeners. */
  onS3Event: LocalS3['onEvent'];
  /** Stops both servers; the data stays on disk. */
  close(): Promise<void>;
}

interface LocalKeys {
  cursor_key: string;
  token_key: string;
}

/**
 * The keys that sign cursors and derive callback tokens, made once per data directory: a restart
 * must keep links in mails and cursors in clients working, and another data directory must not
 * accept them.
 */
async function localKeys(dataDir: string): Promise<LocalKeys> {
  const file = join(dataDir, 'keys.json');
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    // A file that is there is never replaced: new keys would break every link and cursor signed before.
    let keys: Partial<LocalKeys> | undefined;
    try {
      keys = JSON.parse(text) as Partial<LocalKeys>;
    } catch {
      keys = undefined;
    }
    if (typeof keys?.cursor_key === 'string' && typeof keys.token_key === 'string') {
      return { cursor_key: keys.cursor_key, token_key: keys.token_key };
    }
    throw new ConfigurationError(
      `${file} is damaged: it must be JSON with cursor_key and token_key. Restore it, or remove it to make new keys (links in mails and paging cursors made before stop working)`,
    );
  }
  const keys: LocalKeys = {
    cursor_key: randomBytes(32).toString('base64url'),
    token_key: randomBytes(32).toString('base64url'),
  };
  // Whole or not at all: a kill mid-write left a file every later start refused as damaged.
  await writeFile(`${file}.tmp`, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
  return keys;
}

export async function startLocalStores({ dataDir, clock, s3Port }: LocalStoresOptions): Promise<LocalStores> {
  await mkdir(join(dataDir, 'dynamodb'), { recursive: true });
  await mkdir(join(dataDir, 's3'), { recursive: true });
  const lock = lockDataDir(dataDir);
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  let keys: LocalKeys;
  try {
    keys = await localKeys(dataDir);
    dynamo = await startDynalite({ path: join(dataDir, 'dynamodb') });
    s3 = await startS3rver({
      directory: join(dataDir, 's3'),
      ...(s3Port === undefined ? {} : { port: s3Port }),
    }).catch(async (error: unknown) => {
      await dynamo.close();
      throw error;
    });
  } catch (error) {
    lock.release();
    throw error;
  }
  const dynamoClient = createLocalDynamoDbClient({ endpoint: dynamo.endpoint });
  const s3Client = createS3Client({ endpoint: s3.endpoint });
  try {
    const tables = defaultTableNames();
    await createTables(dynamoClient, tables);
    await ensureBucket(s3Client, LOCAL_BUCKET);
    const largePayloads = createClaimCheck({
      blobs: createS3PayloadBlobs({ client: s3Client, bucket: LOCAL_BUCKET }),
    });
    const records = createDynamoDbStores({
      client: dynamoClient,
      tables,
      cursorKey: keys.cursor_key,
      tokenKey: keys.token_key,
      largePayloads,
    });
    // A data directory written by an earlier version: its runs move to the delta layout now, once,
    // rather than one by one as they are touched.
    const upgradedRuns = await records.runs.upgradeStoredRuns();
    const stores: Stores = {
      ...records,
      artifacts: createS3Artifacts({
        client: s3Client,
        bucket: LOCAL_BUCKET,
        cursorKey: keys.cursor_key,
        ...(clock ? { clock } : {}),
      }),
    };
    return {
      stores,
      largePayloads,
      dynamodbEndpoint: dynamo.endpoint,
      s3Endpoint: s3.endpoint,
      upgradedRuns,
      onS3Event: (listener) => s3.onEvent(listener),
      async close() {
        dynamoClient.destroy();
        s3Client.destroy();
        await Promise.all([dynamo.close(), s3.close()]);
        lock.release();
      },
    };
  } catch (error) {
    dynamoClient.destroy();
    s3Client.destroy();
    await Promise.all([dynamo.close(), s3.close()]);
    lock.release();
    throw error;
  }
}
