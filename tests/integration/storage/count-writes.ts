/**
 * DynamoDB writes per executed step: a linear workflow of transform steps runs through the engine's
 * RunLoop, persisting through the DynamoDB RunStore, while the client counts its write requests.
 * The storage tests assert the budget; the benchmark prints the figure as `ddb_writes_per_step`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { WorkflowDefinition, WorkflowVersion } from '../../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import { createRun } from '../../../shared/engine/transition.js';
import { RunLoop } from '../../../shared/orchestration/run-loop.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../../shared/storage/dynamodb/runs.js';
import { memoryOrchestrator } from '../../support/memory-orchestrator.js';
import { startTestDynamoDb } from '../../support/stores.js';

/** The commands that write; each request counts once (the adapters send no batches). */
const WRITE_COMMANDS = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'BatchWriteItemCommand',
  'TransactWriteItemsCommand',
]);

export interface WriteCounter {
  readonly writes: number;
  readonly byCommand: Readonly<Record<string, number>>;
}

/** Wraps the client's `send` so every write request it carries is counted. */
export function countWrites(client: DynamoDBClient): WriteCounter {
  const send = client.send.bind(client) as (command: object, ...rest: unknown[]) => Promise<unknown>;
  const byCommand: Record<string, number> = {};
  const counting = (command: object, ...rest: unknown[]) => {
    const name = command.constructor.name;
    if (WRITE_COMMANDS.has(name)) byCommand[name] = (byCommand[name] ?? 0) + 1;
    return send(command, ...rest);
  };
  client.send = counting as DynamoDBClient['send'];
  return {
    get writes() {
      return Object.values(byCommand).reduce((sum, n) => sum + n, 0);
    },
    get byCommand() {
      return { ...byCommand };
    },
  };
}

/** `size` transform steps in a line, each reading the previous output (as the engine benchmark's). */
export function linearTransformWorkflow(size: number): WorkflowDefinition {
  return {
    schema_version: '1.0',
    id: `linear-${size}`,
    steps: Array.from({ length: size }, (_, i) => ({
      id: `s${i}`,
      type: 'transform',
      config: {
        output: i === 0 ? { n: 1 } : { n: `{{ steps.s${i - 1}.output.n + 1 }}`, label: `step ${i + 1}` },
      },
      ...(i + 1 < size ? { next: `s${i + 1}` } : {}),
    })),
  };
}

export interface WritesPerStep {
  steps: number;
  /** Write requests for the run: its creation and every commit. */
  writes: number;
  writes_per_step: number;
  /** Commits (accepted transitions) after the creation. */
  transitions: number;
  by_command: Record<string, number>;
}

export interface MeasureOptions {
  steps?: number;
  /** A DynamoDB endpoint to use (dynalite, DynamoDB Local); default: an in-memory dynalite of its own. */
  endpoint?: string;
}

export async function measureWritesPerStep(options: MeasureOptions = {}): Promise<WritesPerStep> {
  const size = options.steps ?? 10;
  const dynamo = await startTestDynamoDb(
    options.endpoint === undefined ? {} : { endpoint: options.endpoint },
  );
  const client = dynamo.client();
  try {
    const tables = await dynamo.freshTables(client);
    const runs = new DynamoDbRunStore({
      client,
      table: tables.runs,
      cursors: new CursorCodec('count-writes-cursor-key'),
    });
    const { deps, clock } = memoryOrchestrator();
    const registry = deps.registry;
    const workflow: WorkflowVersion = {
      id: `linear-${size}`,
      version: 1,
      definition: assertValidWorkflow(linearTransformWorkflow(size), { registry }),
      created_at: clock.now().toISOString(),
    };
    const counter = countWrites(client);
    const created = createRun({ id: 'run_count_writes', workflow, inputs: {}, now: clock.now() });
    await runs.create(created);
    let transitions = 0;
    const loop = new RunLoop(created.state, {
      workflow,
      executor: deps,
      persist: async (transition, _signal, steps) => {
        transitions += 1;
        await runs.commit(transition, steps ? { steps } : {});
      },
    });
    loop.deliver({ type: 'start' });
    const { state } = await loop.run();
    const writes = counter.writes;
    // The count only means something if the run really ran and everything is readable again.
    const stored = await runs.get(state.id);
    const history = await runs.history(state.id);
    const executed = history.filter((row) => row.status === 'completed').length;
    if (stored.state.status !== 'completed' || executed !== size) {
      throw new Error(`the run ended ${stored.state.status} after ${executed} of ${size} steps`);
    }
    let events = 0;
    let cursor: string | undefined;
    do {
      const page = await runs.events(state.id, { limit: 1000, ...(cursor ? { cursor } : {}) });
      events += page.events.length;
      cursor = page.next_cursor;
    } while (cursor);
    if (events !== stored.state.seq)
      throw new Error(`${events} events stored, the run recorded ${stored.state.seq}`);
    return {
      steps: executed,
      writes,
      writes_per_step: writes / executed,
      transitions,
      by_command: { ...counter.byCommand },
    };
  } finally {
    await dynamo.close();
  }
}
