/** The production stores on one machine: dynalite and the local S3 on disk, across restarts and a kill -9. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../shared/errors.js';
import { defaultTableNames } from '../../../shared/storage/dynamodb/tables.js';
import { createLocalDynamoDbClient } from '../../../shared/storage/local/dynalite.js';
import { type LocalStores, startLocalStores } from '../../../shared/storage/local/stores.js';
import { RunScript, StepScript, workflowDefinition } from './fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const NOW = new Date('2026-01-01T00:00:00.000Z');
const open: LocalStores[] = [];
const dirs: string[] = [];

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowrunner-local-'));
  dirs.push(dir);
  return dir;
}

async function start(dir: string): Promise<LocalStores> {
  const local = await startLocalStores({ dataDir: dir });
  open.push(local);
  return local;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((local) => local.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('local stores', () => {
  it('create their tables, bucket and keys on first start, and keep every store across a restart', async () => {
    const dir = await dataDir();
    const first = await start(dir);
    await first.stores.workflows.create(workflowDefinition('kept'), NOW);
    const script = new RunScript('run_kept');
    await first.stores.runs.create(script.created());
    await first.stores.runs.commit(script.next({ status: 'waiting' }));
    await first.stores.artifacts.put('run_kept', 'report.txt', 'hello', 'text/plain');
    const token = await first.stores.callbacks.issue({ run_id: 'run_kept', step_id: 'first', visit: 1 }, NOW);
    const keys = await readFile(join(dir, 'keys.json'), 'utf8');
    await first.close();
    open.splice(0);

    const second = await start(dir);
    expect((await second.stores.workflows.get('kept')).version).toBe(1);
    expect((await second.stores.runs.get('run_kept')).state).toMatchObject({
      status: 'waiting',
      checkpoint: 1,
    });
    expect(new TextDecoder().decode((await second.stores.artifacts.get('run_kept', 'report.txt')).body)).toBe(
      'hello',
    );
    // The token key survived too: a link mailed before the restart still works, once.
    expect(await second.stores.callbacks.redeem(token, NOW)).toMatchObject({ run_id: 'run_kept', visit: 1 });
    expect(await readFile(join(dir, 'keys.json'), 'utf8')).toBe(keys);
  });

  it('lose no acknowledged commit when the process is killed with SIGKILL between deltas and snapshots', async () => {
    const dir = await dataDir();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'local-stores-child.ts'), dir, 'run_killed'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let acknowledged = 0;
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        for (const match of text.matchAll(/committed (\d+)/g)) acknowledged = Number(match[1]);
        // Past the first snapshots after the creation, at a point the parent does not choose.
        if (acknowledged >= 90) {
          child.removeAllListeners('exit');
          child.kill('SIGKILL');
          child.on('exit', () => resolve());
        }
      });
    });
    expect(child.signalCode).toBe('SIGKILL');

    const local = await start(dir);
    const record = await local.stores.runs.get('run_killed');
    expect(record.state.checkpoint).toBeGreaterThanOrEqual(acknowledged);
    // Exactly the state the writer committed at that checkpoint: the same script, replayed.
    const replay = new StepScript('run_killed');
    replay.created();
    for (let n = 0; n < record.state.checkpoint; n++) replay.next();
    expect(record.state).toEqual(replay.state);
    const { events } = await local.stores.runs.events('run_killed', { limit: 1000 });
    expect(events.length).toBe(record.state.seq);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    // And the run goes on from there: the next delta commits on top of what survived.
    const { transition, steps } = replay.next();
    await local.stores.runs.commit(transition, { steps });
    expect((await local.stores.runs.get('run_killed')).state).toEqual(transition.state);
  });

  it('move a large step output to S3, keep the run item small, and read it back whole', async () => {
    const dir = await dataDir();
    const local = await start(dir);
    const big = {
      rows: Array.from({ length: 4000 }, (_, i) => ({ i, text: `row ${i} ${'x'.repeat(240)}` })),
    };
    expect(JSON.stringify(big).length).toBeGreaterThan(1_000_000);
    const script = new RunScript('run_big');
    await local.stores.runs.create(script.created());
    await local.stores.runs.commit(script.next({ patch: { output: big } }));

    const raw = createLocalDynamoDbClient({ endpoint: local.dynamodbEndpoint });
    const item = await raw.send(
      new GetItemCommand({
        TableName: defaultTableNames().runs,
        Key: { pk: { S: 'run_big' }, sk: { S: 'run' } },
      }),
    );
    raw.destroy();
    expect(JSON.stringify(item.Item).length).toBeLessThan(256 * 1024);
    expect((await local.stores.runs.get('run_big')).state.output).toEqual(big);
  });

  describe('refuse to start, saying what is wrong and where, rather than crash or lose data', () => {
    it('on a keys.json that is damaged, and leave it as it was', async () => {
      for (const damaged of ['{"cursor_key": "x', '{}']) {
        const dir = await dataDir();
        await writeFile(join(dir, 'keys.json'), damaged);
        const error = await startLocalStores({ dataDir: dir }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toContain(join(dir, 'keys.json'));
        // Replaced, it broke every link and cursor signed with the keys it held.
        expect(await readFile(join(dir, 'keys.json'), 'utf8')).toBe(damaged);
      }
    });

    it('on LevelDB files that cannot be opened (the process died with "Database is closed")', async () => {
      const dir = await dataDir();
      await (await start(dir)).close();
      open.length = 0;
      await writeFile(join(dir, 'dynamodb', 'CURRENT'), 'garbage\n');
      const error = await startLocalStores({ dataDir: dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain(join(dir, 'dynamodb'));
      // The data directory is free again for a start once it is mended.
      await rm(join(dir, 'dynamodb'), { recursive: true });
      await start(dir);
    });

    it('on a local S3 port another program listens on (it crashed with EADDRINUSE)', async () => {
      const busy = createServer();
      await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
      const { port } = busy.address() as AddressInfo;
      try {
        const error = await startLocalStores({ dataDir: await dataDir(), s3Port: port }).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toContain(`127.0.0.1:${port}`);
      } finally {
        await new Promise((resolve) => busy.close(resolve));
      }
    });
  });
});
