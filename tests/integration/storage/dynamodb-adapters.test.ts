/**
 * What only the DynamoDB adapters have to show, on dynalite: data on disk across a restart, table
 * creation, the commit items' sizes and snapshots, claim checks for large values, secrets never at
 * rest, recovery from a create that died half-way, and the listeners' source index (what a lookup
 * reads, and listeners stored before it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { NotFoundError, StorageError } from '../../../shared/errors.js';
import type { LargePayloads } from '../../../shared/ports/index.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../../shared/storage/dynamodb/runs.js';
import { createDynamoDbStores } from '../../../shared/storage/dynamodb/stores.js';
import { createTables, type TableNames, tableDefinitions } from '../../../shared/storage/dynamodb/tables.js';
import {
  startTestDynamoDb,
  TEST_CURSOR_KEY,
  testDynamoDbStores,
  uniqueTableNames,
  useDynalite,
} from '../../support/stores.js';
import { countWrites } from './count-writes.js';
import { failure, RunScript, workflowDefinition } from './fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const dynamo = useDynalite();

function stores(tables: TableNames, on = dynamo.client(), largePayloads?: LargePayloads) {
  return testDynamoDbStores(on, tables, largePayloads ? { largePayloads } : {});
}

async function scan(on: DynamoDBClient, table: string) {
  return (await on.send(new ScanCommand({ TableName: table }))).Items ?? [];
}

/** Claim checks in memory: strings longer than 10 KB become `{ $claim, size }` references. */
function fakeLargePayloads(): LargePayloads & { stored: Map<string, string> } {
  const stored = new Map<string, string>();
  const walk = (
    value: unknown,
    leaf: (text: string) => unknown,
    claim: (ref: { $claim: string }) => unknown,
  ): unknown => {
    if (typeof value === 'string') return leaf(value);
    if (Array.isArray(value)) return value.map((v) => walk(v, leaf, claim));
    if (typeof value === 'object' && value !== null) {
      if ('$claim' in value) return claim(value as { $claim: string });
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, leaf, claim)]));
    }
    return value;
  };
  return {
    stored,
    async offload(runId, value) {
      return walk(
        value,
        (text) => {
          if (text.length <= 10_240) return text;
          const key = `runs/${runId}/payloads/${stored.size}`;
          stored.set(key, text);
          return { $claim: key, size: text.length };
        },
        (ref) => ref,
      );
    },
    async restore(value) {
      return walk(
        value,
        (text) => text,
        (ref) => stored.get(ref.$claim),
      );
    },
    /** `restore` leaves no claim in place: there is nothing to read back. */
    async restoreKept(value) {
      return value;
    },
  };
}

describe('dynalite on disk', () => {
  it('keeps workflows, runs and events across a restart', async () => {
    const path = mkdtempSync(join(tmpdir(), 'flowrunner-dynalite-'));
    try {
      const first = await startTestDynamoDb({ path });
      const before = first.client();
      const tables = await first.freshTables(before);
      const run = new RunScript('run_disk');
      const writer = stores(tables, before);
      await writer.workflows.create(workflowDefinition('kept'), new Date('2026-01-01T00:00:00Z'));
      await writer.runs.create(run.created());
      const last = run.next({ status: 'running', events: [{ type: 'run.started' }] });
      await writer.runs.commit(last);
      await first.close();

      const second = await startTestDynamoDb({ path });
      try {
        const after = second.client();
        await createTables(after, tables);
        const reader = stores(tables, after);
        expect((await reader.workflows.get('kept')).version).toBe(1);
        expect((await reader.runs.get('run_disk')).state).toEqual(last.state);
        expect((await reader.runs.events('run_disk')).events.map((e) => e.type)).toEqual([
          'run.created',
          'run.started',
        ]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(path, { recursive: true, force: true });
    }
  });
});

describe('createTables', () => {
  it('creates every table and index once, and leaves them alone after', async () => {
    const on = dynamo.client();
    const tables = await dynamo.freshTables(on);
    await createTables(on, tables);
    for (const definition of tableDefinitions(tables)) {
      expect(await scan(on, definition.create.TableName)).toEqual([]);
    }
  });

  it('says which index is missing when the emulator cannot add it', async () => {
    const on = dynamo.client();
    const tables = uniqueTableNames();
    const runs = tableDefinitions(tables).find((d) => d.role === 'runs')!.create;
    await on.send(
      new CreateTableCommand({
        ...runs,
        AttributeDefinitions: runs.AttributeDefinitions!.filter(
          (a) => a.AttributeName === 'pk' || a.AttributeName === 'sk',
        ),
        GlobalSecondaryIndexes: undefined,
      }),
    );
    const error = await failure(createTables(on, tables));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).message).toMatch(/lacks the index 'by_status'/);
  });

  it('turns a missing table into StorageUnavailable, never a raw SDK error', async () => {
    const missing = stores({ ...uniqueTableNames() });
    const error = await failure(missing.runs.get('run_x'));
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'StorageUnavailable', retryable: false });
    expect((error as StorageError).message).toMatch(/table 't\d+-[0-9a-f]+-runs' does not exist/);
  });
});

describe('DynamoDbRunStore commit items', () => {
  it('writes one small item per commit, and a snapshot only once the deltas reach its size', async () => {
    const on = dynamo.client();
    const tables = await dynamo.freshTables(on);
    const runs = new DynamoDbRunStore({
      client: on,
      table: tables.runs,
      cursors: new CursorCodec(TEST_CURSOR_KEY),
      snapshotMinBytes: 4 * 1024,
    });
    const run = new RunScript('run_big_log');
    await runs.create(run.created());
    const counter = countWrites(on);
    for (let i = 0; i < 40; i++) {
      await runs.commit(
        run.next({
          events: [{ type: 'step.completed', step_id: `s${i}`, data: { text: 'x'.repeat(1000) } }],
        }),
        { steps: ['first'] },
      );
    }
    // One conditional put per commit; the status never changed, so the run item was not written.
    expect(counter.byCommand).toEqual({ PutItemCommand: 40 });
    const items = await scan(on, tables.runs);
    const commits = items.filter((item) => item.sk?.S?.startsWith('c#'));
    expect(commits).toHaveLength(41);
    const snapshots = commits.filter((item) => item.state !== undefined);
    // The creation, then one whenever ~4 KB of deltas piled up: every fourth or fifth commit.
    expect(snapshots.length).toBeGreaterThanOrEqual(8);
    expect(snapshots.length).toBeLessThanOrEqual(12);
    for (const item of commits) expect(JSON.stringify(item).length).toBeLessThan(3 * 1024);
    const runItem = items.find((item) => item.sk?.S === 'run')!;
    expect(JSON.stringify(runItem).length).toBeLessThan(1024);
    const { events } = await runs.events('run_big_log', { limit: 1000 });
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    expect(
      (
        await new DynamoDbRunStore({
          client: on,
          table: tables.runs,
          cursors: new CursorCodec(TEST_CURSOR_KEY),
        }).get('run_big_log')
      ).state,
    ).toEqual(run.state);
  });

  it('refuses a state too large for one item, and writes nothing', async () => {
    const tables = await dynamo.freshTables();
    const { runs } = stores(tables);
    const run = new RunScript('run_huge');
    await runs.create(run.created());
    const error = await failure(runs.commit(run.next({ patch: { output: 'x'.repeat(500 * 1024) } })));
    expect(error).toMatchObject({ code: 'ItemTooLarge' });
    expect((await runs.get('run_huge')).state.checkpoint).toBe(0);
  });

  it('moves large states, events and signals through claim checks and restores them', async () => {
    const on = dynamo.client();
    const tables = await dynamo.freshTables(on);
    const payloads = fakeLargePayloads();
    const { runs, inbox } = stores(tables, on, payloads);
    const big = 'y'.repeat(300 * 1024);
    const run = new RunScript('run_claims');
    await runs.create(run.created());
    const last = run.next({
      patch: { output: { report: big } },
      events: [{ type: 'step.completed', step_id: 'first', data: { report: big } }],
      history: [
        { step_id: 'first', visit: 1, type: 'transform', status: 'completed', attempt: 1, output: big },
      ],
    });
    await runs.commit(last);
    await inbox.put('run_claims', 'req-1', { type: 'resume', payload: { note: big } }, new Date());

    expect((await runs.get('run_claims')).state).toEqual(last.state);
    expect((await runs.events('run_claims', { after: 1 })).events[0]!.data).toEqual({ report: big });
    expect((await runs.history('run_claims'))[0]!.output).toBe(big);
    expect((await inbox.read('run_claims', 0))[0]!.signal).toEqual({
      type: 'resume',
      payload: { note: big },
    });
    const stored = JSON.stringify(await scan(on, tables.runs));
    expect(stored).not.toContain(big);
    expect(payloads.stored.size).toBe(4);
  });
});

describe('DynamoDbCallbackTokens', () => {
  it('keeps no usable token at rest: only its hash and the nonce it was derived with', async () => {
    const on = dynamo.client();
    const tables = await dynamo.freshTables(on);
    const { callbacks } = stores(tables, on);
    const token = await callbacks.issue({ run_id: 'run_t', step_id: 'approve', visit: 1 }, new Date());
    const items = JSON.stringify(await scan(on, tables.tokens));
    expect(items).not.toContain(token);
    // Another deployment (another token key) cannot derive it from the same rows.
    const elsewhere = createDynamoDbStores({
      client: on,
      tables,
      cursorKey: TEST_CURSOR_KEY,
      tokenKey: 'a-different-token-key-entirely',
    });
    expect(await elsewhere.callbacks.forWait('run_t', 'approve', 1, new Date())).toBeUndefined();
    expect(await callbacks.forWait('run_t', 'approve', 1, new Date())).toBe(token);
  });
});

describe('DynamoDbWorkflowStore', () => {
  it('rebuilds the summary of a workflow whose create died after writing its version', async () => {
    const on = dynamo.client();
    const tables = await dynamo.freshTables(on);
    const { workflows } = stores(tables, on);
    const definition = workflowDefinition('half', { name: 'Half done' });
    await on.send(
      new PutItemCommand({
        TableName: tables.workflows,
        Item: {
          id: { S: 'half' },
          sk: { S: 'v#0000000001' },
          version: { N: '1' },
          definition: { S: JSON.stringify(definition) },
          created_at: { S: '2026-01-01T00:00:00.000Z' },
        },
      }),
    );
    expect(await workflows.summary('half')).toEqual({
      id: 'half',
      latest_version: 1,
      name: 'Half done',
      created_at: '2026-01-01T00:00:00.000Z',
      updated_at: '2026-01-01T00:00:00.000Z',
    });
    expect((await workflows.list()).items.map((w) => w.id)).toEqual(['half']);
    const summary = await on.send(
      new GetItemCommand({ TableName: tables.workflows, Key: { id: { S: 'half' }, sk: { S: 'summary' } } }),
    );
    expect(summary.Item?.latest_version?.N).toBe('1');
    expect(await failure(workflows.summary('never'))).toBeInstanceOf(NotFoundError);
  });
});

describe('DynamoDbListenerStore source index', () => {
  const NOW = '2026-01-01T00:00:00.000Z';
  const eventbridge = (id: string, match: Record<string, unknown>) => ({
    id,
    type: 'eventbridge' as const,
    workflow_id: 'wf',
    match,
    enabled: true,
    created_at: NOW,
    updated_at: NOW,
  });

  /** Wraps `send` to count the items each Query read and the keys it read them under. */
  function countQueries(on: DynamoDBClient) {
    const send = on.send.bind(on) as (command: object, ...rest: unknown[]) => Promise<unknown>;
    const read = { items: 0, keys: [] as string[] };
    on.send = (async (command: object, ...rest: unknown[]) => {
      const answer = await send(command, ...rest);
      if (command instanceof QueryCommand) {
        read.items += (answer as { Count?: number }).Count ?? 0;
        read.keys.push(command.input.ExpressionAttributeValues?.[':key']?.S ?? '?');
      }
      return answer;
    }) as DynamoDBClient['send'];
    return read;
  }

  it('reads only the listeners an event could fire: those of its source and detail-type, and those that name neither', async () => {
    const on = dynamo.client();
    const tables = await dynamo.freshTables(on);
    const listeners = stores(tables, on).listeners;
    // 100 listeners over ten sources, half of them also naming a detail-type; five match on detail alone.
    for (let i = 0; i < 100; i++) {
      await listeners.create(
        eventbridge(`l${String(i).padStart(3, '0')}`, {
          source: [`team-${i % 10}`],
          ...(i % 20 < 10 ? { 'detail-type': ['A'] } : {}),
        }),
      );
    }
    for (let i = 0; i < 5; i++) await listeners.create(eventbridge(`any${i}`, { detail: { n: [i] } }));
    const read = countQueries(on);
    const found = await listeners.find({
      type: 'eventbridge',
      event: { source: 'team-3', 'detail-type': 'A', detail: { n: 2 } },
    });
    expect(found.map((l) => l.id)).toEqual([
      'any2',
      ...[3, 13, 23, 33, 43, 53, 63, 73, 83, 93].map((i) => `l0${String(i).padStart(2, '0')}`),
    ]);
    // The ten of team-3 and the five without a source: not the 90 of other teams.
    expect(read.items).toBe(15);
    expect(read.keys.sort()).toEqual([
      'eventbridge',
      'eventbridge#["team-3","A"]',
      'eventbridge#["team-3",null]',
      'eventbridge#[null,"A"]',
    ]);
  });

  it('still finds a listener stored before the index (under `eventbridge`), and keys it by its source at its next change', async () => {
    const on = dynamo.client();
    const tables = await dynamo.freshTables(on);
    const listener = eventbridge('old', { source: ['shop'] });
    await on.send(
      new PutItemCommand({
        TableName: tables.listeners,
        Item: {
          id: { S: 'old' },
          kind: { S: 'listener' },
          source_key: { S: 'eventbridge' },
          listener: { S: JSON.stringify(listener) },
        },
      }),
    );
    const listeners = stores(tables, on).listeners;
    const find = async (source: string) =>
      (await listeners.find({ type: 'eventbridge', event: { source, 'detail-type': 'x' } })).map((l) => l.id);
    expect(await find('shop')).toEqual(['old']);
    expect(await find('crm')).toEqual([]);
    await listeners.update('old', { enabled: false }, new Date(NOW));
    const item = await on.send(
      new GetItemCommand({ TableName: tables.listeners, Key: { id: { S: 'old' } } }),
    );
    expect(item.Item?.source_key?.S).toBe('eventbridge#["shop",null]');
    expect(await find('shop')).toEqual(['old']);
  });
});
