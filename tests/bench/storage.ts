/**
 * Storage figures for `npm run bench`:
 *
 * - `wcu_per_step_10/100/500`, `bytes_per_commit_10/100/500`, `s3_requests_per_step_500`,
 *   `ddb_calls_per_run_10`: one run of the benchmark's linear workflow (transform steps) started
 *   with startRun and driven to its end by the in-process state machine over the production
 *   DynamoDB stores on dynalite, with claim checks on. A middleware on the SDK client counts every
 *   call and bills every write (ddb-meter.ts); the run measured is the second of its size, so the
 *   workflow version is already cached, as in a warm Lambda. Bytes per commit: the mean size of the
 *   commit items written (deltas and snapshots).
 * - `local_e2e_ms_per_step_10/100/500`: wall time from start to completed through the local
 *   runtime (the deployed state machine on aws-local-stepfunctions, dynalite and s3rver on disk), per
 *   step, median of several runs.
 * - `runs_per_s_c8`: runs of a 3-step workflow per second through `npm start` (`bin/server.mjs` in
 *   a process of its own), eight clients each starting a run and polling it to its end.
 * - `ddb_writes_per_step`, `store_ops_per_s`: as before (count-writes.ts, and run records plus events
 *   written per second through the RunStore, replaying a 10-step run's real transitions).
 * - `claim_check_offload_ms_10mb`, `claim_check_restore_ms_10mb`: `measureLargeOutput`.
 */

import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { logger } from '../../shared/adapters/logger.js';
import type { WorkflowVersion } from '../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../shared/definition/validate.js';
import { apply, createRun } from '../../shared/engine/transition.js';
import type { Transition } from '../../shared/engine/types.js';
import { createMemoryHttpClient } from '../../shared/http/memory-http-client.js';
import { InProcessStateMachine } from '../../shared/orchestration/in-process.js';
import { startRun } from '../../shared/orchestration/orchestrator.js';
import { RunLoop } from '../../shared/orchestration/run-loop.js';
import { createMemorySecrets } from '../../shared/secrets/memory.js';
import { createClaimCheck, createMemoryPayloadBlobs } from '../../shared/storage/claim-check.js';
import { CursorCodec } from '../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../shared/storage/dynamodb/runs.js';
import { createDynamoDbStores } from '../../shared/storage/dynamodb/stores.js';
import { createMemoryArtifacts } from '../../shared/storage/memory/artifacts.js';
import { linearTransformWorkflow, measureWritesPerStep } from '../integration/storage/count-writes.js';
import { startLocalRuntime, storeWorkflow } from '../support/local-runtime.js';
import { memoryOrchestrator } from '../support/memory-orchestrator.js';
import { startServerProcess } from '../support/server-process.js';
import { startTestDynamoDb } from '../support/stores.js';
import { meterDynamoDb } from './ddb-meter.js';

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

export interface DurablePathFigures {
  wcu_per_step: number;
  bytes_per_commit: number;
  s3_requests_per_step: number;
  ddb_calls_per_run: number;
  commits: number;
  by_command: Record<string, number>;
}

/** One run of `size` transform steps from startRun to its end, metered; see the file comment. */
export async function measureDurablePath(size: number): Promise<DurablePathFigures> {
  const dynamo = await startTestDynamoDb();
  const client = dynamo.client();
  const meter = meterDynamoDb(client, dynamo.client());
  let s3Requests = 0;
  const memoryBlobs = createMemoryPayloadBlobs();
  const counted =
    <A extends unknown[], R>(request: (...args: A) => R) =>
    (...args: A): R => {
      s3Requests += 1;
      return request(...args);
    };
  const blobs = {
    has: counted(memoryBlobs.has),
    put: counted(memoryBlobs.put),
    get: counted(memoryBlobs.get),
  };
  try {
    const tables = await dynamo.freshTables(dynamo.client());
    const stores = {
      ...createDynamoDbStores({
        client,
        tables,
        cursorKey: 'bench-cursor-key-0123',
        tokenKey: 'bench-token-key-01234',
        largePayloads: createClaimCheck({ blobs }),
      }),
      artifacts: createMemoryArtifacts(),
    };
    const machine = new InProcessStateMachine(
      {
        stores,
        secrets: createMemorySecrets({}),
        http: createMemoryHttpClient(() => ({ status: 200, headers: {}, body: '{}' })),
      },
      { allowPrivateNetwork: true, allowLoopback: true, ai: { provider: 'mock', mode: 'success', seed: 0 } },
      { realTime: false },
    );
    const definition = assertValidWorkflow(linearTransformWorkflow(size), {
      registry: machine.deps.registry,
    });
    const workflow = await stores.workflows.create(definition, new Date());
    const once = async () => {
      const run = await startRun({ workflow, inputs: {} }, machine.deps);
      await machine.idle();
      return run.id;
    };
    await once();
    meter.reset();
    s3Requests = 0;
    const runId = await once();
    const calls = meter.calls;
    const units = meter.writeUnits;
    const byCommand = meter.byCommand;
    const commits = meter.puts.filter((put) => put.sk.startsWith('c#'));
    const requests = s3Requests;
    const { state } = await stores.runs.get(runId);
    if (state.status !== 'completed') throw new Error(`the ${size}-step bench run ended ${state.status}`);
    return {
      wcu_per_step: units / size,
      bytes_per_commit: commits.reduce((sum, put) => sum + put.bytes, 0) / commits.length,
      s3_requests_per_step: requests / size,
      ddb_calls_per_run: calls,
      commits: commits.length,
      by_command: byCommand,
    };
  } finally {
    await dynamo.close();
  }
}

/** Milliseconds per step from start to completed through the local runtime, median of `runs` runs. */
export async function measureLocalEndToEnd(size: number, runs: number): Promise<number> {
  const { runtime, close, failures } = await startLocalRuntime();
  try {
    const workflow = await storeWorkflow(runtime, linearTransformWorkflow(size));
    const timings: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const started = performance.now();
      const run = await runtime.startRun(workflow, {});
      await runtime.settled();
      const elapsed = performance.now() - started;
      const { state } = await runtime.local.stores.runs.get(run.id);
      if (state.status !== 'completed')
        throw new Error(`bench run ended ${state.status}: ${failures.join('; ')}`);
      if (i > 0) timings.push(elapsed / size);
    }
    return median(timings);
  } finally {
    await close();
  }
}

export interface ThroughputFigures {
  runs_per_s: number;
  /** CPU time of the server process (its runtime, stores and request handling, all threads) per run. */
  cpu_ms_per_run: number;
  /** HTTP requests per run: the start and the polls. */
  requests_per_run: number;
}

/** CPU time a process has used so far (user and system, all its threads), in ms, from /proc. */
async function processCpuMs(pid: number): Promise<number> {
  // Fields 14 and 15 of /proc/<pid>/stat, in clock ticks of 10 ms; the name in field 2 is in
  // parentheses and may hold spaces, so fields are counted after it.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Runs per second of a 3-step workflow through the local server at `concurrency` clients. The
 * server runs as `npm start` runs it (`bin/server.mjs`, request log lines included), in a process
 * of its own; the clients, in this one, start a run and poll it every 25 ms to its end. The
 * server used to run inside this process, so its one thread also ran the eight clients' fetch
 * calls and JSON, which no user's clients share with it (47–53 runs/s that way, against 67–70 for
 * a server process on the same machine in the same hour; both move with the machine).
 */
export async function measureRunsPerSecond(concurrency: number, seconds = 3): Promise<ThroughputFigures> {
  const server = await startServerProcess();
  try {
    const call = async (method: string, path: string, body?: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      requests += 1;
      return (await response.json()) as { id: string; status: string };
    };
    let requests = 0;
    await call('POST', '/v1/workflows', linearTransformWorkflow(3));
    const runOnce = async () => {
      const { id } = await call('POST', '/v1/executions', { workflow_id: 'linear-3', inputs: {} });
      for (;;) {
        const run = await call('GET', `/v1/executions/${id}`);
        if (run.status === 'completed') return;
        if (run.status === 'failed' || run.status === 'canceled') throw new Error(`bench run ${run.status}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    for (let i = 0; i < 8; i++) await runOnce();
    let done = 0;
    requests = 0;
    const pid = server.child.pid!;
    const cpu = await processCpuMs(pid);
    const started = performance.now();
    const ends = started + seconds * 1000;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < ends) {
          await runOnce();
          done += 1;
        }
      }),
    );
    const elapsed = performance.now() - started;
    const used = (await processCpuMs(pid)) - cpu;
    return {
      runs_per_s: (done * 1000) / elapsed,
      cpu_ms_per_run: used / done,
      requests_per_run: requests / done,
    };
  } finally {
    await server.stop();
  }
}

export interface StoreOpsResult {
  /** Run records plus events written per second. */
  ops_per_s: number;
  runs: number;
  ms: number;
}

/** The transitions of one real run of a linear workflow (creation with its start, then every commit) and the steps each changed. */
export async function linearRunTransitions(
  size: number,
): Promise<Array<{ transition: Transition; steps?: readonly string[] }>> {
  const { deps } = memoryOrchestrator();
  const registry = deps.registry;
  const now = new Date('2026-01-01T00:00:00.000Z');
  const workflow: WorkflowVersion = {
    id: `linear-${size}`,
    version: 1,
    definition: assertValidWorkflow(linearTransformWorkflow(size), { registry }),
    created_at: now.toISOString(),
  };
  const created = createRun({ id: 'run_template', workflow, inputs: {}, now });
  const start = apply(workflow, created.state, { type: 'start' }, { now, registry });
  const first: Transition = { ...start, events: [...created.events, ...start.events] };
  const transitions: Array<{ transition: Transition; steps?: readonly string[] }> = [
    { transition: structuredClone(first) },
  ];
  const loop = new RunLoop(structuredClone(first.state), {
    workflow,
    executor: deps,
    persist: async (transition, _signal, steps) => {
      transitions.push({ transition: structuredClone(transition), ...(steps ? { steps } : {}) });
    },
  });
  const { state } = await loop.run();
  if (state.status !== 'completed') throw new Error(`the template run ended ${state.status}`);
  return transitions;
}

/** Run records and events written per second on an in-memory dynalite, 8 runs at once. */
export async function measureStoreOps(phaseMs = 1000): Promise<StoreOpsResult> {
  const template = await linearRunTransitions(10);
  const eventsPerRun = template.reduce((sum, { transition }) => sum + transition.events.length, 0);
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
    const forRun = (transition: Transition, runId: string): Transition => ({
      ...transition,
      state: { ...transition.state, id: runId },
    });
    const writeRun = async () => {
      const runId = `run_bench_${++made}`;
      const [created, ...commits] = template;
      await runs.create(forRun(created!.transition, runId));
      for (const { transition, steps } of commits) {
        await runs.commit(forRun(transition, runId), steps ? { steps } : {});
      }
    };
    for (let i = 0; i < 3; i++) await writeRun();
    const started = performance.now();
    let count = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (performance.now() < started + phaseMs) {
          await writeRun();
          count += 1;
        }
      }),
    );
    const ms = performance.now() - started;
    return { ops_per_s: (count * (template.length + eventsPerRun) * 1000) / ms, runs: count, ms };
  } finally {
    await dynamo.close();
  }
}

/** Every storage figure of the benchmark's JSON line. */
/**
 * `claim_check_ms_10mb`: CPU ms to offload and then restore a 10 MB step output of a million small
 * records (an API that answers a long list), on in-memory blobs: the claim check's own work, which
 * blocks the process while it runs (an array of millions of items once held it for 10 s).
 */
export async function measureLargeOutput(): Promise<{ offload_ms: number; restore_ms: number }> {
  const claims = createClaimCheck({ blobs: createMemoryPayloadBlobs() });
  const output = { status: 200, body: Array.from({ length: 1_000_000 }, (_, i) => ({ id: i })) };
  const cpuMs = (since: NodeJS.CpuUsage) => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  const offloads: number[] = [];
  const restores: number[] = [];
  for (let i = 0; i < 3; i++) {
    let since = process.cpuUsage();
    const stored = await claims.offload(`run_bench${i}`, output);
    offloads.push(cpuMs(since));
    since = process.cpuUsage();
    const restored = (await claims.restore(stored)) as typeof output;
    restores.push(cpuMs(since));
    if (restored.body.length !== output.body.length) throw new Error('the output did not come back whole');
  }
  return { offload_ms: median(offloads), restore_ms: median(restores) };
}

export async function measureStoreFigures(): Promise<Record<string, number>> {
  logger.setLogLevel('SILENT');
  const figures: Record<string, number> = {};
  for (const size of [10, 100, 500]) {
    const path = await measureDurablePath(size);
    figures[`wcu_per_step_${size}`] = round(path.wcu_per_step);
    figures[`bytes_per_commit_${size}`] = Math.round(path.bytes_per_commit);
    if (size === 10) figures.ddb_calls_per_run_10 = path.ddb_calls_per_run;
    if (size === 500) figures.s3_requests_per_step_500 = round(path.s3_requests_per_step);
  }
  figures.local_e2e_ms_per_step_10 = round(await measureLocalEndToEnd(10, 7));
  figures.local_e2e_ms_per_step_100 = round(await measureLocalEndToEnd(100, 5));
  figures.local_e2e_ms_per_step_500 = round(await measureLocalEndToEnd(500, 3));
  const throughput = await measureRunsPerSecond(8);
  figures.runs_per_s_c8 = round(throughput.runs_per_s, 1);
  figures.cpu_ms_per_run_c8 = round(throughput.cpu_ms_per_run, 1);
  figures.ddb_writes_per_step = round((await measureWritesPerStep({ steps: 10 })).writes_per_step);
  figures.store_ops_per_s = Math.round((await measureStoreOps()).ops_per_s);
  const large = await measureLargeOutput();
  figures.claim_check_offload_ms_10mb = Math.round(large.offload_ms);
  figures.claim_check_restore_ms_10mb = Math.round(large.restore_ms);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const detail = await Promise.all([10, 100, 500].map((size) => measureDurablePath(size)));
  process.stderr.write(`${JSON.stringify(detail)}\n`);
  process.stdout.write(`${JSON.stringify(await measureStoreFigures())}\n`);
}
