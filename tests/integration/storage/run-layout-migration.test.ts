/**
 * Runs written by the previous release's RunStore (the whole state in the run item, a journal map
 * and chunk items beside it) read and continue with today's: moved all at once on a local start,
 * or one by one when first touched (the cloud), with the same state, events and history.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunStore } from '../../../shared/ports/index.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../../shared/storage/dynamodb/runs.js';
import { defaultTableNames } from '../../../shared/storage/dynamodb/tables.js';
import { createLocalDynamoDbClient } from '../../../shared/storage/local/dynalite.js';
import { startLocalStores } from '../../../shared/storage/local/stores.js';
import { TEST_CURSOR_KEY, useDynalite } from '../../support/stores.js';
import { RunScript, StepScript } from './fixtures.js';
import { V1DynamoDbRunStore } from './v1-run-store.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const dynamo = useDynalite();
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Three runs as the old code stored them: a long one (journal and chunks), a waiting one with a token, a short one. */
async function writeV1Runs(old: RunStore) {
  const long = new StepScript('run_v1_long');
  await old.create(long.created());
  for (let i = 0; i < 30; i++) await old.commit(long.next().transition, { inbox_cursor: i });
  const waiting = new RunScript('run_v1_waiting');
  await old.create(waiting.created());
  await old.commit(waiting.next({ status: 'waiting' }), { inbox_cursor: 2 });
  await old.setTaskToken('run_v1_waiting', 'token-v1');
  const short = new RunScript('run_v1_short');
  await old.create(short.created());
  return { long, waiting, short };
}

/** Everything a reader can see of a run. */
async function view(store: RunStore, runId: string) {
  // The new layout reads the inbox with the run (record.inbox); the previous one read it apart.
  const { inbox: _inbox, ...record } = await store.get(runId);
  return {
    record,
    events: (await store.events(runId, { limit: 1000 })).events,
    history: await store.history(runId),
  };
}

const IDS = ['run_v1_long', 'run_v1_waiting', 'run_v1_short'];

async function items(client: DynamoDBClient, table: string) {
  return (await client.send(new ScanCommand({ TableName: table }))).Items ?? [];
}

describe('runs stored by the previous layout', () => {
  it('are read, moved on first touch, and continue with deltas, each looking exactly as before', async () => {
    const client = dynamo.client();
    const tables = await dynamo.freshTables(client);
    const cursors = new CursorCodec(TEST_CURSOR_KEY);
    const old = new V1DynamoDbRunStore({ client, table: tables.runs, cursors, journalFlushBytes: 1024 });
    const { long } = await writeV1Runs(old);
    const before = await Promise.all(IDS.map((id) => view(old, id)));
    expect((await items(client, tables.runs)).some((item) => item.sk?.S?.startsWith('j#'))).toBe(true);

    // Every read path moves the run it touches first: events, history, get, a commit.
    const store = () => new DynamoDbRunStore({ client, table: tables.runs, cursors });
    expect((await store().events('run_v1_long', { limit: 1000 })).events).toEqual(before[0]!.events);
    expect(await store().history('run_v1_waiting')).toEqual(before[1]!.history);
    for (const [i, id] of IDS.entries()) expect(await view(store(), id)).toEqual(before[i]);
    expect(before[1]!.record.task_token).toBe('token-v1');
    const left = await items(client, tables.runs);
    expect(left.filter((item) => item.sk?.S?.startsWith('j#'))).toEqual([]);
    expect(left.filter((item) => item.sk?.S === 'run' && (item.state || item.j))).toEqual([]);

    const { transition, steps } = long.next();
    await store().commit(transition, { steps });
    expect((await store().get('run_v1_long')).state).toEqual(transition.state);
    expect((await store().events('run_v1_long', { after: 31 })).events.map((e) => e.seq)).toEqual([32]);
    expect(await store().upgradeStoredRuns()).toBe(0);
  });

  it('are moved when the local stores start, all at once, and counted for the log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowrunner-v1-'));
    dirs.push(dir);
    const first = await startLocalStores({ dataDir: dir });
    const client = createLocalDynamoDbClient({ endpoint: first.dynamodbEndpoint });
    const old = new V1DynamoDbRunStore({
      client,
      table: defaultTableNames().runs,
      cursors: new CursorCodec(TEST_CURSOR_KEY),
      journalFlushBytes: 1024,
    });
    // The local stores use their own cursor key: compare what does not depend on it.
    await writeV1Runs(old);
    const before = await Promise.all(IDS.map((id) => view(old, id)));
    client.destroy();
    await first.close();

    const second = await startLocalStores({ dataDir: dir });
    try {
      expect(second.upgradedRuns).toBe(3);
      for (const [i, id] of IDS.entries()) expect(await view(second.stores.runs, id)).toEqual(before[i]);
    } finally {
      await second.close();
    }
    const third = await startLocalStores({ dataDir: dir });
    expect(third.upgradedRuns).toBe(0);
    await third.close();
  });
});
