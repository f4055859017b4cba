/**
 * The storage contract against the DynamoDB adapters on DynamoDB Local, AWS's own emulator (Java),
 * so the adapters are held to DynamoDB's behaviour and not only to dynalite's. The jar comes from
 * `scripts/fetch-dynamodb-local.sh`; without it (or without Java) this file fails and says what to
 * run. It never skips.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamoDbLocal, findDynamoDbLocal, startDynamoDbLocal } from '../../support/dynamodb-local.js';
import { describeStoreConformance } from './conformance.js';
import { measureWritesPerStep } from './count-writes.js';
import { dynamoDbTarget } from './dynamodb-target.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

let local: DynamoDbLocal | undefined;
let startError: unknown;

/** The running emulator; when it could not start, every test fails with the reason (never a skip). */
function running(): DynamoDbLocal {
  if (local === undefined) throw startError ?? new Error('DynamoDB Local was not started');
  return local;
}
const endpoint = () => running().endpoint;

beforeAll(async () => {
  try {
    local = await startDynamoDbLocal();
  } catch (error) {
    // Kept for each test to throw: a failing beforeAll would report the tests as skipped.
    startError = error;
  }
}, 30_000);

afterAll(async () => {
  await local?.close();
});

describeStoreConformance('DynamoDB on DynamoDB Local', dynamoDbTarget(endpoint));
// A snapshot every third commit: reads that cross snapshots and deltas.
describeStoreConformance(
  'DynamoDB on DynamoDB Local, a snapshot every third commit',
  dynamoDbTarget(endpoint, { snapshotEvery: 3 }),
);

describe('DynamoDB adapters on DynamoDB Local', () => {
  it('stay within two writes per executed step in a 10-step linear run', async () => {
    const measured = await measureWritesPerStep({ endpoint: endpoint(), steps: 10 });
    expect(measured.steps).toBe(10);
    expect(measured.writes).toBeGreaterThan(0);
    expect(measured.writes_per_step).toBeLessThanOrEqual(2);
  });
});

const canConnect = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

// Declared last, so it runs after the suite above: it stops the shared emulator.
describe('the DynamoDB Local test helper', () => {
  it('refuses a folder without the jar, naming the fetch script', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'flowrunner-no-ddb-'));
    try {
      expect(() => findDynamoDbLocal(empty)).toThrow(/DynamoDBLocal\.jar is missing/);
      expect(() => findDynamoDbLocal(empty)).toThrow(/scripts\/fetch-dynamodb-local\.sh/);
      await expect(startDynamoDbLocal({ dir: empty })).rejects.toThrow(/scripts\/fetch-dynamodb-local\.sh/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('close() stops the Java process and frees its port', async () => {
    const emulator = running();
    expect(isAlive(emulator.pid)).toBe(true);
    expect(await canConnect(emulator.port)).toBe(true);

    await emulator.close();

    expect(isAlive(emulator.pid)).toBe(false);
    expect(await canConnect(emulator.port)).toBe(false);
    await emulator.close(); // a second close is harmless
  });
});
