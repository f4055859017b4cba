/**
 * Crash safety (issue 4 item 7, CONTRACT §2): the local runtime's process is killed with SIGKILL in
 * the middle of many runs of `api_call` steps, and a runtime started on the same data directory
 * finishes every one of them. Side effects are counted at a loopback sink by idempotency key: a
 * completed step never runs again; only the step in flight at the kill may repeat, with the same key.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../../support/cleanup.js';
import { type HttpSink, type SinkRequest, startHttpSink } from '../../support/http-sink.js';
import { startLocalRuntime, until } from '../../support/local-runtime.js';
import { crashWorkflowOutput } from './crash-child.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const here = dirname(fileURLToPath(import.meta.url));
const RUNS = 10;
const STEPS = 6;
/** The child is killed once the sink has seen this many of the RUNS × STEPS requests. */
const KILL_AFTER_REQUESTS = 24;

const defer = cleanupAfterEach();

interface ChildRun {
  runId: string;
  n: number;
}

/**
 * Starts crash-child.ts and kills it with SIGKILL from inside the sink's request handler, once every
 * run was started and the sink has seen `killAfter` requests: the request that triggers the kill is
 * never answered, so its step is in flight when the process dies.
 */
async function runChildUntilKilled(
  dataDir: string,
  sink: HttpSink,
  killAfter: number,
): Promise<{ runs: ChildRun[]; inFlight: SinkRequest; output: string[] }> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'crash-child.ts'), dataDir, sink.url, String(RUNS), String(STEPS)],
    { cwd: join(here, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const runs: ChildRun[] = [];
  const output: string[] = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  let allStarted = false;
  let inFlight: SinkRequest | undefined;
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? code)),
  );
  const maybeKill = (request?: SinkRequest) => {
    if (inFlight || !allStarted || request === undefined) return;
    if (sink.requests.length < killAfter) return;
    inFlight = request;
    child.kill('SIGKILL');
  };
  sink.onRequest((request) => maybeKill(request));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    output.push(line);
    const message = JSON.parse(line) as { started?: string; n?: number; all_started?: number };
    if (message.started !== undefined) runs.push({ runId: message.started, n: message.n! });
    if (message.all_started !== undefined) allStarted = true;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const how = await exited;
  clearTimeout(timer);
  if (!inFlight) {
    throw new Error(
      `the child ended (${String(how)}) before it was killed mid-flight after ${sink.requests.length} requests\n` +
        `stdout:\n${output.join('\n')}\nstderr:\n${stderr}`,
    );
  }
  expect(how).toBe('SIGKILL');
  return { runs, inFlight, output };
}

describe('crash safety of the local runtime', () => {
  it('finishes every run after a SIGKILL mid-flight, and no completed step runs twice', async () => {
    const started = Date.now();
    const sink = await startHttpSink({ delayMs: 40 });
    defer(() => sink.close());
    const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-crash-'));
    defer(() => rm(dataDir, { recursive: true, force: true }));

    const { runs, inFlight, output } = await runChildUntilKilled(dataDir, sink, KILL_AFTER_REQUESTS);
    const killedAt = Date.now();
    expect(runs).toHaveLength(RUNS);
    expect(output.filter((line) => line.includes('execution_error'))).toEqual([]);
    const seenAtKill = sink.requests.length;
    // Mid-flight: some requests were made, far from all of them.
    expect(seenAtKill).toBeGreaterThanOrEqual(KILL_AFTER_REQUESTS);
    expect(seenAtKill).toBeLessThan(RUNS * STEPS);

    const { runtime, failures, close } = await startLocalRuntime({
      dataDir,
      env: { FLOWRUNNER_ALLOW_PRIVATE_NETWORK: 'true' },
    });
    defer(close);
    const ended = await Promise.all(
      runs.map(({ runId }) => until(runtime, runId, (r) => r.status !== 'running' && r.status !== 'queued')),
    );
    const recoveredMs = Date.now() - killedAt;

    // Every run completed with the output built from every step's answer.
    for (const [i, { runId, n }] of runs.entries()) {
      expect(ended[i]!.status, runId).toBe('completed');
      expect(ended[i]!.output).toEqual(crashWorkflowOutput(runId, n, STEPS));
    }
    // Nothing lost: every step of every run has its completed history row, once.
    for (const { runId } of runs) {
      const history = await runtime.local.stores.runs.history(runId);
      expect(history.map((h) => `${h.step_id}:${h.visit}:${h.status}`)).toEqual(
        Array.from({ length: STEPS }, (_, k) => `s${k + 1}:1:completed`),
      );
    }

    // Side effects: every key was sent, none more than twice, repeats only for the step in flight.
    const counts = sink.countsByKey();
    const expectedKeys = runs.flatMap(({ runId }) =>
      Array.from({ length: STEPS }, (_, k) => `${runId}:s${k + 1}:1`),
    );
    expect([...counts.keys()].sort()).toEqual([...expectedKeys].sort());
    expect(sink.requests.length).toBe(
      [...counts.values()].reduce((a, b) => a + b, 0), // every request carried a key
    );
    for (const [key, count] of counts) expect(count, key).toBeLessThanOrEqual(2);
    const repeated = [...counts].filter(([, count]) => count === 2).map(([key]) => key);
    const repeatsPerRun = new Map<string, number>();
    for (const key of repeated) {
      const runId = key.split(':')[0]!;
      repeatsPerRun.set(runId, (repeatsPerRun.get(runId) ?? 0) + 1);
    }
    for (const [runId, count] of repeatsPerRun) expect(count, runId).toBe(1);
    // The request that was never answered (the kill came first) was sent again, with the same key.
    const inFlightKey = inFlight.headers['idempotency-key'] as string;
    expect(counts.get(inFlightKey)).toBe(2);
    // A repeat happens only for a step whose first request reached the sink before the kill.
    const beforeKill = new Set(
      sink.requests.slice(0, seenAtKill).map((r) => r.headers['idempotency-key'] as string),
    );
    for (const key of repeated) expect(beforeKill.has(key), key).toBe(true);
    expect(failures).toEqual([]);

    console.info(
      `crash safety: killed after ${seenAtKill}/${RUNS * STEPS} requests; ${repeated.length} step(s) repeated ` +
        `(${repeated.join(', ')}); recovered in ${recoveredMs} ms; ${Date.now() - started} ms in all`,
    );
  }, 30_000);
});
