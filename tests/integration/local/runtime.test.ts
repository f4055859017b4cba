/** The local runtime: the deployed state machine definition, run by the ASL interpreter over the same handlers and local stores. */
import { describe, expect, it } from 'vitest';
import { cleanupAfterEach } from '../../support/cleanup.js';
import { startLocalRuntime, storeWorkflow, until } from '../../support/local-runtime.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const defer = cleanupAfterEach();

/** A runtime closed after the test, which then checks that no execution failed (the orchestration broke). */
async function runtimeIn(dataDir?: string) {
  const started = await startLocalRuntime(dataDir === undefined ? {} : { dataDir });
  defer(started.close);
  defer(() => expect(started.failures).toEqual([]));
  return started;
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
    const workflow = await storeWorkflow(runtime, flow);
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
    const workflow = await storeWorkflow(first.runtime, flow);
    const run = await first.runtime.startRun(workflow, {});
    await until(first.runtime, run.id, (r) => r.status === 'waiting');
    await first.stop();

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
    const workflow = await storeWorkflow(runtime, twoForms);
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
