/** The local runtime: the deployed state machine definition, run by the ASL interpreter over the same handlers and local stores. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalRuntime } from '../../../infra/local/runtime.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import type { RunState } from '../../../shared/engine/types.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const open: LocalRuntime[] = [];
const dirs: string[] = [];
/** Failed executions mean the orchestration broke: every test checks there were none. */
const failures: string[] = [];

async function runtimeIn(dir?: string) {
  const dataDir = dir ?? (await mkdtemp(join(tmpdir(), 'flowrunner-runtime-')));
  if (!dir) dirs.push(dataDir);
  const runtime = await LocalRuntime.start({
    dataDir,
    env: {},
    onExecutionError: (name, error) => failures.push(`${name}: ${String(error)}`),
  });
  open.push(runtime);
  return { runtime, dataDir };
}

afterEach(async () => {
  expect(failures.splice(0)).toEqual([]);
  await Promise.all(open.splice(0).map((r) => r.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Polls the stored run until it satisfies `done` (the runtime works in the background). */
async function until(
  runtime: LocalRuntime,
  runId: string,
  done: (run: RunState) => boolean,
): Promise<RunState> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { state } = await runtime.local.stores.runs.get(runId);
    if (done(state)) return state;
    if (Date.now() > deadline)
      throw new Error(
        `run ${runId} is still ${state.status}: ${JSON.stringify(state.active.map((id) => [id, state.steps[id]]))}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

const flow = `schema_version: "1.0"
id: greet
steps:
  - { id: ask, type: form, config: { fields: [{ key: name, required: true }] }, next: pause }
  - { id: pause, type: wait, config: { seconds: 1 }, next: greet }
  - { id: greet, type: transform, config: { output: "Hello, {{ steps.ask.output.name }}" } }
`;

describe('the local runtime', () => {
  it('runs a workflow through the state machine: a wait for a person, a timer, then the end', async () => {
    const { runtime } = await runtimeIn();
    const workflow = await runtime.local.stores.workflows.create(assertValidWorkflow(flow), new Date());
    const run = await runtime.startRun(workflow, {});
    await until(runtime, run.id, (r) => r.status === 'waiting');
    await runtime.deliver(run.id, 'answer-1', { type: 'resume', payload: { inputs: { name: 'Ada' } } });
    const done = await until(runtime, run.id, (r) => r.status === 'completed');
    expect(done.output).toBe('Hello, Ada');
    const history = await runtime.local.stores.runs.history(run.id);
    expect(history.map((h) => `${h.step_id}:${h.status}`)).toEqual([
      'ask:completed',
      'pause:completed',
      'greet:completed',
    ]);
  });

  it('picks up a waiting run after a restart and finishes it', async () => {
    const first = await runtimeIn();
    const workflow = await first.runtime.local.stores.workflows.create(assertValidWorkflow(flow), new Date());
    const run = await first.runtime.startRun(workflow, {});
    await until(first.runtime, run.id, (r) => r.status === 'waiting');
    await first.runtime.close();
    open.splice(open.indexOf(first.runtime), 1);

    const { runtime } = await runtimeIn(first.dataDir);
    await runtime.deliver(run.id, 'answer-1', { type: 'resume', payload: { inputs: { name: 'Bo' } } });
    expect((await until(runtime, run.id, (r) => r.status === 'completed')).output).toBe('Hello, Bo');
  });

  it('hands a run off to a fresh execution when the history budget is near, invisibly to its users', async () => {
    const { runtime } = await runtimeIn();
    const executions: string[] = [];
    runtime.deps.handoffAfterTransitions = 5;
    const twoForms = `schema_version: "1.0"
id: two-forms
steps:
  - { id: first, type: form, config: { fields: [{ key: a }] }, next: second }
  - { id: second, type: form, config: { fields: [{ key: b }] }, next: done }
  - { id: done, type: transform, config: { output: "{{ steps.first.output.a & steps.second.output.b }}" } }
`;
    const start = runtime.deps.executions.start;
    runtime.deps.executions.start = async (input, name) => {
      executions.push(name);
      await start(input, name);
    };
    const workflow = await runtime.local.stores.workflows.create(assertValidWorkflow(twoForms), new Date());
    const run = await runtime.startRun(workflow, {});
    await until(runtime, run.id, (r) => r.steps.first?.status === 'waiting');
    await runtime.deliver(run.id, 'a', { type: 'resume', step_id: 'first', payload: { inputs: { a: 'x' } } });
    await until(runtime, run.id, (r) => r.steps.second?.status === 'waiting');
    await runtime.deliver(run.id, 'b', {
      type: 'resume',
      step_id: 'second',
      payload: { inputs: { b: 'y' } },
    });
    const done = await until(runtime, run.id, (r) => r.status === 'completed');
    expect(done.output).toBe('xy');
    expect(executions.length).toBeGreaterThanOrEqual(2);
    expect(executions.slice(1).every((name) => name.startsWith(`${run.id}-g`))).toBe(true);
  });
});
