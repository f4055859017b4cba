/**
 * The run list reads one partition per status, one query each, not at one instant. A run whose
 * status changes between two of those queries is in both: it was listed twice, and the console drew
 * two rows for it (seen as a strict-mode failure of the console's end-to-end test). The list keeps
 * the newest entry of each run. The interleaving is forced with a middleware on the real client.
 */
import { describe, expect, it } from 'vitest';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../../shared/storage/dynamodb/runs.js';
import { useDynalite } from '../../support/stores.js';
import { RunScript } from './fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const dynamo = useDynalite();

/** The status partition a list query reads, if it is one. */
function partitionOf(input: {
  IndexName?: string;
  ExpressionAttributeValues?: Record<string, { S?: string }>;
}) {
  return input.IndexName === undefined ? undefined : input.ExpressionAttributeValues?.[':p']?.S;
}

describe('the run list', () => {
  it('lists a run once when its status changes between the queries of two partitions', async () => {
    const client = dynamo.client();
    const tables = await dynamo.freshTables(client);
    const runs = new DynamoDbRunStore({
      client,
      table: tables.runs,
      cursors: new CursorCodec('race-cursor-key-0123'),
    });
    const run = new RunScript('run_race', { status: 'running' });
    await runs.create(run.created());
    await runs.create(new RunScript('run_other', { status: 'completed' }).created());

    // The query of `running` answers first; then the run moves to `waiting`; then `waiting` is read.
    let runningRead!: () => void;
    const ranRunning = new Promise<void>((resolve) => {
      runningRead = resolve;
    });
    let moved = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'QueryCommand') return next(args);
        const partition = partitionOf(args.input as Parameters<typeof partitionOf>[0]);
        if (partition === 'running') {
          const answer = await next(args);
          runningRead();
          return answer;
        }
        if (partition === 'waiting' && !moved) {
          moved = true;
          await ranRunning;
          await runs.commit(run.next({ status: 'waiting', at: '2026-01-01T00:00:05.000Z' }));
        }
        return next(args);
      },
      { step: 'initialize', name: 'interleave' },
    );

    const page = await runs.list({});
    expect(moved).toBe(true);
    expect(page.items.map((r) => [r.id, r.status])).toEqual(
      expect.arrayContaining([
        ['run_race', 'waiting'],
        ['run_other', 'completed'],
      ]),
    );
    expect(page.items).toHaveLength(2);
  });
});
