/**
 * The local runtime's bookkeeping of executions (issue 9, defect 7): it keeps the executions under
 * way, not every execution it ever started, which grew by one per run without end. StartExecution's
 * refusal of a name in use holds while the execution runs; once it ended, a repeated start begins a
 * new one, which ends at once because its run has ended.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../../infra/local/runtime.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A runtime on a fresh data directory, with the names of the executions it starts. */
async function runtimeWithLog() {
  const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-executions-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const started: string[] = [];
  const failures: string[] = [];
  const runtime = await LocalRuntime.start({
    dataDir,
    env: {},
    onExecution: (name) => started.push(name),
    onExecutionError: (name, error) => failures.push(`${name}: ${String(error)}`),
  });
  cleanups.push(() => runtime.close());
  cleanups.push(() => expect(failures).toEqual([]));
  return { runtime, started };
}

/** Polls the stored run until its execution is parked: the run waits, its task token stored on it. */
async function parked(runtime: LocalRuntime, runId: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const record = await runtime.local.stores.runs.get(runId);
    if (record.state.status === 'waiting' && record.task_token) return;
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${record.state.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the executions of the local runtime', () => {
  it('forgets an execution that ended: a repeated start runs anew and ends at once on the ended run', async () => {
    const { runtime, started } = await runtimeWithLog();
    const workflow = await runtime.local.stores.workflows.create(
      assertValidWorkflow(
        'schema_version: "1.0"\nid: one-step\nsteps:\n  - { id: t, type: transform, config: { output: "hi" } }\n',
      ),
      new Date(),
    );
    const run = await runtime.startRun(workflow, {});
    await runtime.settled();
    const ended = await runtime.local.stores.runs.get(run.id);
    expect(ended.state.status).toBe('completed');
    expect(started).toEqual([run.id]);

    await runtime.deps.executions.start({ run_id: run.id, generation: 0 }, run.id);
    expect(started).toEqual([run.id, run.id]);
    await runtime.settled();
    // Advance found the run ended and changed nothing.
    const after = await runtime.local.stores.runs.get(run.id);
    expect(after.state).toEqual(ended.state);
  });

  it('refuses a second execution of a run whose execution is under way, by its name or another', async () => {
    const { runtime, started } = await runtimeWithLog();
    const workflow = await runtime.local.stores.workflows.create(
      assertValidWorkflow(
        'schema_version: "1.0"\nid: asks\nsteps:\n  - { id: ask, type: form, config: { fields: [{ key: name, required: true }] } }\n',
      ),
      new Date(),
    );
    const run = await runtime.startRun(workflow, {});
    await parked(runtime, run.id);

    await runtime.deps.executions.start({ run_id: run.id, generation: 0 }, run.id);
    await runtime.deps.executions.start({ run_id: run.id, generation: 0 }, `${run.id}-resumed-1`);
    expect(started).toEqual([run.id]);

    await runtime.deliver(run.id, 'answer', { type: 'resume', payload: { inputs: { name: 'Ada' } } });
    await runtime.settled();
    expect((await runtime.local.stores.runs.get(run.id)).state.status).toBe('completed');
    expect(started).toEqual([run.id]);
  });
});
