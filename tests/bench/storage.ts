/**
 * Storage figures for `npm run bench`, both on dynalite in memory (in-process, loopback HTTP):
 *
 * - `ddb_writes_per_step`: DynamoDB write requests per executed step of a 10-step linear run of
 *   transform steps through the engine's RunLoop and the DynamoDB RunStore (the storage tests'
 *   `measureWritesPerStep`; goal ≤ 2).
 * - `store_ops_per_s`: run and event writes per second through the DynamoDB RunStore. What is
 *   counted, exactly: every run record written (one per `create`, one per `commit`: the
 *   checkpointed state) plus every event those calls store (each transition's `events`). History
 *   rows ride along uncounted, and reads are not done in the timed part. The transitions are the
 *   real ones of a 10-step linear run (captured once from the engine, then replayed under fresh
 *   run ids): 1 create and 11 commits, so 12 run records and 23 events per run. Half of the
 *   time runs go one after another, half of it 8 runs go at once (each run's commits in order, as
 *   its single writer does). A commit costs one or two DynamoDB writes (two when its journal moves
 *   to a chunk item), so this counts store writes, not DynamoDB requests.
 */
import { performance } from 'node:perf_hooks';
import type { WorkflowVersion } from '../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../shared/definition/validate.js';
import { createRun } from '../../shared/engine/transition.js';
import type { Transition } from '../../shared/engine/types.js';
import { RunLoop } from '../../shared/orchestration/run-loop.js';
import { CursorCodec } from '../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../shared/storage/dynamodb/runs.js';
import { linearTransformWorkflow, measureWritesPerStep } from '../integration/storage/count-writes.js';
import { memoryOrchestrator } from '../support/memory-orchestrator.js';
import { startTestDynamoDb } from '../support/stores.js';

export interface StoreFigures {
  ddb_writes_per_step: number;
  store_ops_per_s: number;
}

export interface StoreOpsResult {
  /** Run records plus events written per second, over both phases. */
  ops_per_s: number;
  sequential_ops_per_s: number;
  parallel_ops_per_s: number;
  runs: number;
  /** Run records written (creates + commits). */
  run_writes: number;
  event_writes: number;
  ms: number;
}

export interface StoreOpsOptions {
  /** Time for each phase (sequential, then parallel); default 750 ms, so ~1.5 s in all. */
  phaseMs?: number;
  /** Runs written at once in the parallel phase; default 8. */
  parallel?: number;
  /** Steps of the linear workflow whose transitions are replayed; default 10. */
  steps?: number;
}

/** The transitions of one real run of a linear workflow: its creation, then every commit in order. */
export async function linearRunTransitions(size: number): Promise<Transition[]> {
  const { deps, clock } = memoryOrchestrator();
  const registry = deps.registry;
  const workflow: WorkflowVersion = {
    id: `linear-${size}`,
    version: 1,
    definition: assertValidWorkflow(linearTransformWorkflow(size), { registry }),
    created_at: clock.now().toISOString(),
  };
  const created = createRun({ id: 'run_template', workflow, inputs: {}, now: clock.now() });
  // The engine keeps updating the state it is given: keep copies of what each step stored.
  const transitions: Transition[] = [structuredClone(created)];
  const loop = new RunLoop(structuredClone(created.state), {
    workflow,
    executor: deps,
    persist: async (transition) => {
      transitions.push(structuredClone(transition));
    },
  });
  loop.deliver({ type: 'start' });
  const { state } = await loop.run();
  if (state.status !== 'completed') throw new Error(`the template run ended ${state.status}`);
  return transitions;
}

/** The same transition for another run id (the adapters only read the state's id). */
const forRun = (transition: Transition, runId: string): Transition => ({
  ...transition,
  state: { ...transition.state, id: runId },
});

/** Run and event writes per second on an in-memory dynalite; see the file comment for what counts. */
export async function measureStoreOps(options: StoreOpsOptions = {}): Promise<StoreOpsResult> {
  const phaseMs = options.phaseMs ?? 750;
  const parallel = options.parallel ?? 8;
  const template = await linearRunTransitions(options.steps ?? 10);
  const eventsPerRun = template.reduce((sum, transition) => sum + transition.events.length, 0);
  const dynamo = await startTestDynamoDb();
  const client = dynamo.client();
  try {
    const tables = await dynamo.freshTables(client);
    const runs = new DynamoDbRunStore({
      client,
      table: tables.runs,
      cursors: new CursorCodec('bench-cursor-key-0123'),
    });
    let made = 0;
    const writeRun = async () => {
      const runId = `run_bench_${++made}`;
      const [created, ...commits] = template;
      await runs.create(forRun(created!, runId));
      for (const transition of commits) await runs.commit(forRun(transition, runId));
      return runId;
    };
    // Runs started until the phase's time is up; each finishes, so only whole runs are counted.
    const phase = async (writers: number) => {
      const started = performance.now();
      const ends = started + phaseMs;
      let count = 0;
      await Promise.all(
        Array.from({ length: writers }, async () => {
          while (performance.now() < ends) {
            await writeRun();
            count += 1;
          }
        }),
      );
      return { runs: count, ms: performance.now() - started };
    };

    // Warm-up: connections, JIT, dynalite's first writes.
    for (let i = 0; i < 3; i++) await writeRun();
    const sequential = await phase(1);
    const concurrent = await phase(parallel);

    // The figures only mean something if what was written reads back whole.
    const last = await runs.get(`run_bench_${made}`);
    const expected = template.at(-1)!.state;
    if (last.state.checkpoint !== expected.checkpoint || last.state.status !== expected.status) {
      throw new Error(
        `run_bench_${made} reads back at checkpoint ${last.state.checkpoint}, not ${expected.checkpoint}`,
      );
    }
    const events = await runs.events(`run_bench_${made}`, { limit: 100 });
    if (events.events.length !== eventsPerRun) {
      throw new Error(`run_bench_${made} has ${events.events.length} events, not ${eventsPerRun}`);
    }

    const opsPerRun = template.length + eventsPerRun;
    const totalRuns = sequential.runs + concurrent.runs;
    const ms = sequential.ms + concurrent.ms;
    return {
      ops_per_s: (totalRuns * opsPerRun * 1000) / ms,
      sequential_ops_per_s: (sequential.runs * opsPerRun * 1000) / sequential.ms,
      parallel_ops_per_s: (concurrent.runs * opsPerRun * 1000) / concurrent.ms,
      runs: totalRuns,
      run_writes: totalRuns * template.length,
      event_writes: totalRuns * eventsPerRun,
      ms,
    };
  } finally {
    await dynamo.close();
  }
}

/** The two storage figures of the benchmark's JSON line. */
export async function measureStoreFigures(options: StoreOpsOptions = {}): Promise<StoreFigures> {
  const writes = await measureWritesPerStep({ steps: 10 });
  const ops = await measureStoreOps(options);
  return {
    ddb_writes_per_step: Number(writes.writes_per_step.toFixed(2)),
    store_ops_per_s: Math.round(ops.ops_per_s),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const detail = await measureStoreOps();
  process.stderr.write(`${JSON.stringify(detail)}\n`);
  process.stdout.write(`${JSON.stringify(await measureStoreFigures())}\n`);
}
