/**
 * Faults between states (issue 4 item 6, second half): the state machine of infra/state-machine.ts,
 * run by the local runtime over the real handlers and stores, with faults injected by wrapping the
 * stores the handlers use. Each faulted run must end exactly like the same workflow run without
 * faults: the same result, the same history rows (step_id, status), the same event types in the
 * same order, and no side effect more than once.
 *
 * - a handler that throws after persisting: a commit that stores a step's completion, then throws;
 * - a repeated delivery of a signal: the same signal id twice, and another id for the same form;
 * - a signal delivered while AwaitSignal sets up its wait (the run is `waiting`, not parked yet).
 */
import { describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../../infra/local/runtime.js';
import { ADVANCE_CRASH_ERRORS } from '../../../infra/state-machine.js';
import type { WorkflowVersion } from '../../../shared/definition/schema.js';
import type { Signal, Transition } from '../../../shared/engine/types.js';
import { startRun } from '../../../shared/orchestration/orchestrator.js';
import { cleanupAfterEach } from '../../support/cleanup.js';
import { type HttpSink, startHttpSink } from '../../support/http-sink.js';
import { hasEnded, startLocalRuntime, storeWorkflow, until } from '../../support/local-runtime.js';
import { pollUntil } from '../../support/poll.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const defer = cleanupAfterEach();

/**
 * A sink, a runtime (retrying Advance at once) and the workflow `yaml(sink.url)` stored in it. Its
 * `failures` are the executions that failed (infrastructure trouble): each test says which it expects.
 */
async function arrange(yaml: (sinkUrl: string) => string) {
  const at = await startHttpSink();
  defer(() => at.close());
  const { runtime, failures, close } = await startLocalRuntime({
    env: { FLOWRUNNER_ALLOW_PRIVATE_NETWORK: 'true' },
    retryIntervalOverrides: { Advance: 0 },
  });
  defer(close);
  const workflow = await storeWorkflow(runtime, yaml(at.url));
  return { at, runtime, failures, workflow };
}

/**
 * Runs `after` once each commit of the runtime's run store has been stored: what a handler does
 * after persisting. A throw from it is the handler's, after the write.
 */
function afterCommit(runtime: LocalRuntime, after: (transition: Transition) => Promise<void> | void): void {
  const runs = runtime.local.stores.runs;
  const commit = runs.commit.bind(runs);
  runs.commit = async (transition, options) => {
    await commit(transition, options);
    await after(transition);
  };
}

/** The transition stores `stepId` of the run `runId` completing. */
const completes = (transition: Transition, runId: string, stepId: string) =>
  transition.state.id === runId &&
  transition.history.some((h) => h.step_id === stepId && h.status === 'completed');

/** How a run ended, in the terms a faulted run is compared with its fault-free twin. */
async function outcome(runtime: LocalRuntime, runId: string) {
  const runs = runtime.local.stores.runs;
  const { state } = await runs.get(runId);
  const history = (await runs.history(runId)).map((h) => `${h.step_id}:${h.status}`);
  const events: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await runs.events(runId, cursor ? { cursor } : {});
    events.push(...page.events.map((e) => (e.step_id ? `${e.type}:${e.step_id}` : e.type)));
    cursor = page.next_cursor;
  } while (cursor);
  return {
    status: state.status,
    output: state.output,
    error: state.error,
    history,
    events,
    checkpoint: state.checkpoint,
  };
}

/** Starts a run with an id chosen here, so a fault can be armed for it before its execution starts. */
function start(runtime: LocalRuntime, workflow: WorkflowVersion, runId: string, inputs: unknown) {
  return startRun({ workflow, inputs, runId }, runtime.deps);
}

/** Side effects of one run at the sink: requests per idempotency key. */
function effectsOf(at: HttpSink, runId: string): Record<string, number> {
  return Object.fromEntries([...at.countsByKey()].filter(([key]) => key.startsWith(`${runId}:`)));
}

function linearYaml(sinkUrl: string): string {
  return `schema_version: "1.0"
id: faults-linear
steps:
  - id: s1
    type: api_call
    config: { method: POST, base_url: "${sinkUrl}", url: /a, body: { n: "{{ inputs.n }}" } }
    next: shape
  - id: shape
    type: transform
    config: { output: { doubled: "{{ steps.s1.output.body.received.n * 2 }}" } }
    next: s2
  - id: s2
    type: api_call
    config: { method: POST, base_url: "${sinkUrl}", url: /b, body: "{{ steps.shape.output }}" }
output:
  first: "{{ steps.s1.output.body.received }}"
  last: "{{ steps.s2.output.body.received }}"
`;
}

function formYaml(sinkUrl: string): string {
  return `schema_version: "1.0"
id: faults-form
steps:
  - { id: ask, type: form, config: { fields: [{ key: name, required: true }] }, next: greet }
  - { id: greet, type: transform, config: { output: "Hello, {{ steps.ask.output.name }}" }, next: confirm }
  - { id: confirm, type: form, config: { fields: [{ key: ok, required: true }] }, next: notify }
  - id: notify
    type: api_call
    config: { method: POST, base_url: "${sinkUrl}", url: /notify, body: { text: "{{ steps.greet.output }}" } }
output: "{{ steps.notify.output.body.received.text }}"
`;
}

/** The answer to the form `ask` (a resume aimed at its step, as the API sends it). */
const answer = (name: string): Signal => ({ type: 'resume', step_id: 'ask', payload: { inputs: { name } } });
const confirmation: Signal = { type: 'resume', step_id: 'confirm', payload: { inputs: { ok: 'yes' } } };

/** The run waits on `stepId`, parked: its execution holds a task token and nothing is in its inbox. */
async function parkedAt(runtime: LocalRuntime, runId: string, stepId: string): Promise<void> {
  await pollUntil(
    async () => ({
      record: await runtime.local.stores.runs.get(runId),
      inbox: await runtime.local.stores.inbox.read(runId, 0),
    }),
    ({ record, inbox }) =>
      record.state.status === 'waiting' &&
      record.state.steps[stepId]?.status === 'waiting' &&
      record.task_token !== undefined &&
      inbox.length === 0,
    ({ record, inbox }) =>
      `run ${runId} is not parked at ${stepId}: ${record.state.status}, token ${String(record.task_token)}, inbox ${inbox.length}`,
    { timeoutMs: 10_000 },
  );
}

/** The fault-free run of the form workflow: answer, confirm, end. */
async function cleanFormRun(runtime: LocalRuntime, workflow: WorkflowVersion) {
  await start(runtime, workflow, 'run_clean', {});
  await parkedAt(runtime, 'run_clean', 'ask');
  expect(await runtime.deliver('run_clean', 'answer-1', answer('Ada'))).toEqual({ accepted: true });
  await parkedAt(runtime, 'run_clean', 'confirm');
  expect(await runtime.deliver('run_clean', 'confirm-1', confirmation)).toEqual({ accepted: true });
  await until(runtime, 'run_clean', hasEnded);
  const clean = await outcome(runtime, 'run_clean');
  expect(clean.status).toBe('completed');
  expect(clean.output).toBe('Hello, Ada');
  expect(clean.history).toEqual([
    'ask:completed',
    'greet:completed',
    'confirm:completed',
    'notify:completed',
  ]);
  return clean;
}

/** An error the state machine's Retry on Advance treats as a crashed invocation. */
function crash(name: string): Error {
  const error = new Error('injected: the invocation died after its commit');
  error.name = name;
  return error;
}

describe('faults between states: a handler that throws after persisting', () => {
  // On AWS an invocation that dies after its write is `Lambda.Unknown` (or a timeout); the override
  // of aws-local-stepfunctions passes the thrown error's `name` to Retry as the error name.
  it.each(['s1', 'shape', 's2'])(
    'the commit of %s completing is stored, then Advance throws Lambda.Unknown: retried, same end',
    async (target) => {
      expect(ADVANCE_CRASH_ERRORS).toContain('Lambda.Unknown');
      const { at, runtime, failures, workflow } = await arrange(linearYaml);
      const thrown: string[] = [];
      afterCommit(runtime, (transition) => {
        if (completes(transition, 'run_faulted', target) && thrown.length === 0) {
          thrown.push(`${target}@${transition.state.checkpoint}`);
          throw crash('Lambda.Unknown');
        }
      });

      await start(runtime, workflow, 'run_clean', { n: 21 });
      await until(runtime, 'run_clean', hasEnded);
      await start(runtime, workflow, 'run_faulted', { n: 21 });
      await until(runtime, 'run_faulted', hasEnded);
      await runtime.settled();

      expect(thrown).toHaveLength(1);
      const clean = await outcome(runtime, 'run_clean');
      expect(clean.status).toBe('completed');
      expect(clean.output).toEqual({ first: { n: 21 }, last: { doubled: 42 } });
      expect(await outcome(runtime, 'run_faulted')).toEqual(clean);
      // The completed step did not run again: every side effect once.
      expect(effectsOf(at, 'run_faulted')).toEqual({ 'run_faulted:s1:1': 1, 'run_faulted:s2:1': 1 });
      expect(failures).toEqual([]);
    },
    20_000,
  );

  it('a plain Error after persisting is retried (States.TaskFailed) and the run ends the same, each effect once', async () => {
    const { at, runtime, failures, workflow } = await arrange(linearYaml);
    let thrown = 0;
    afterCommit(runtime, (transition) => {
      if (completes(transition, 'run_faulted', 's1') && thrown++ === 0) throw new Error('injected');
    });
    await start(runtime, workflow, 'run_clean', { n: 5 });
    await until(runtime, 'run_clean', hasEnded);
    await start(runtime, workflow, 'run_faulted', { n: 5 });
    await until(runtime, 'run_faulted', hasEnded);
    expect(thrown).toBeGreaterThan(0);
    expect(await outcome(runtime, 'run_faulted')).toEqual(await outcome(runtime, 'run_clean'));
    expect(effectsOf(at, 'run_faulted')).toEqual({ 'run_faulted:s1:1': 1, 'run_faulted:s2:1': 1 });
    expect(failures).toEqual([]);
  });
});

describe('faults between states: a repeated delivery of a signal', () => {
  it('the same signal id twice, and a second id for the same form: one answer counts, nothing else changes', async () => {
    const { at, runtime, failures, workflow } = await arrange(formYaml);
    const clean = await cleanFormRun(runtime, workflow);

    await start(runtime, workflow, 'run_faulted', {});
    await parkedAt(runtime, 'run_faulted', 'ask');
    // The same id, twice at once and once more: the inbox takes it once.
    const together = await Promise.all([
      runtime.deliver('run_faulted', 'answer-1', answer('Ada')),
      runtime.deliver('run_faulted', 'answer-1', answer('Ada')),
    ]);
    expect(together.map((r) => r.accepted).sort()).toEqual([false, true]);
    await parkedAt(runtime, 'run_faulted', 'confirm');
    const before = await outcome(runtime, 'run_faulted');
    expect(await runtime.deliver('run_faulted', 'answer-1', answer('Ada'))).toEqual({ accepted: false });
    // Another id for the same form: the inbox takes it, the execution wakes, Advance applies it,
    // the engine refuses it (the form is answered), and the run parks again as it was.
    expect(await runtime.deliver('run_faulted', 'answer-2', answer('Eve'))).toEqual({ accepted: true });
    await parkedAt(runtime, 'run_faulted', 'confirm');
    expect(await outcome(runtime, 'run_faulted')).toEqual(before);
    expect(await runtime.deliver('run_faulted', 'confirm-1', confirmation)).toEqual({ accepted: true });
    await until(runtime, 'run_faulted', hasEnded);
    expect(await outcome(runtime, 'run_faulted')).toEqual(clean);

    // After the end: more deliveries change nothing either.
    expect(await runtime.deliver('run_faulted', 'answer-1', answer('Zed'))).toEqual({ accepted: false });
    await runtime.deliver('run_faulted', 'answer-3', answer('Zed'));
    await runtime.deliver('run_faulted', 'confirm-2', confirmation);
    await new Promise((r) => setTimeout(r, 300));
    await runtime.settled();
    expect(await outcome(runtime, 'run_faulted')).toEqual(clean);
    expect(effectsOf(at, 'run_faulted')).toEqual({ 'run_faulted:notify:1': 1 });
    expect(failures).toEqual([]);
  });

  it('a second answer under another id, delivered while Advance applies the first, is refused', async () => {
    const { at, runtime, failures, workflow } = await arrange(formYaml);
    const clean = await cleanFormRun(runtime, workflow);

    // The second answer arrives once Advance has committed the first, in the same invocation: it
    // is in the inbox when AwaitSignal sets up the wait for `confirm`, wakes it at once, and the
    // next Advance refuses it.
    let second: Promise<{ accepted: boolean }> | undefined;
    afterCommit(runtime, async (transition) => {
      if (completes(transition, 'run_faulted', 'ask') && !second) {
        second = runtime.deliver('run_faulted', 'answer-2', answer('Eve'));
        await second;
      }
    });
    await start(runtime, workflow, 'run_faulted', {});
    await parkedAt(runtime, 'run_faulted', 'ask');
    await runtime.deliver('run_faulted', 'answer-1', answer('Ada'));
    // Parked again with an empty inbox: the refused answer was drained, not left to wake it again.
    await parkedAt(runtime, 'run_faulted', 'confirm');
    expect(second).toBeDefined();
    expect(await second).toEqual({ accepted: true });
    await runtime.deliver('run_faulted', 'confirm-1', confirmation);
    await until(runtime, 'run_faulted', hasEnded);
    await runtime.settled();
    expect(await outcome(runtime, 'run_faulted')).toEqual(clean);
    expect(effectsOf(at, 'run_faulted')).toEqual({ 'run_faulted:notify:1': 1 });
    expect(failures).toEqual([]);
  });
});

describe('faults between states: a signal during AwaitSignal set-up', () => {
  it.each([
    ['before the token is stored', 'before'],
    ['after the token is stored, before the inbox is checked', 'after'],
  ] as const)('the answer arrives %s: the run does not hang and ends the same', async (_, when) => {
    const { at, runtime, failures, workflow } = await arrange(formYaml);
    const clean = await cleanFormRun(runtime, workflow);

    // AwaitSignal's first write is the task token: the answer is delivered just before (the run
    // is `waiting`, the execution not parked) or just after it (parked, inbox not checked yet).
    const runs = runtime.local.stores.runs;
    const setTaskToken = runs.setTaskToken.bind(runs);
    const seen: Array<{ step: string; status: string; token: string | undefined; accepted: boolean }> = [];
    runs.setTaskToken = async (runId, token, options) => {
      const arm = runId === 'run_faulted' && token !== undefined;
      const deliverNow = async () => {
        const record = await runs.get(runId);
        const step = record.state.active[0] ?? '';
        const signal = step === 'ask' ? answer('Ada') : confirmation;
        const { accepted } = await runtime.deliver(runId, `${step}-1`, signal);
        seen.push({ step, status: record.state.status, token: record.task_token, accepted });
      };
      if (arm && when === 'before') await deliverNow();
      await setTaskToken(runId, token, options);
      if (arm && when === 'after') await deliverNow();
    };
    await start(runtime, workflow, 'run_faulted', {});
    await until(runtime, 'run_faulted', hasEnded, { timeoutMs: 10_000 });
    await runtime.settled();

    // Both waits (ask, then confirm) were answered during their set-up.
    expect(seen.map((s) => [s.step, s.status, s.accepted])).toEqual([
      ['ask', 'waiting', true],
      ['confirm', 'waiting', true],
    ]);
    for (const s of seen) {
      if (when === 'before') expect(s.token).toBeUndefined();
      else expect(s.token).toEqual(expect.any(String));
    }
    expect(await outcome(runtime, 'run_faulted')).toEqual(clean);
    expect(effectsOf(at, 'run_faulted')).toEqual({ 'run_faulted:notify:1': 1 });
    expect(failures).toEqual([]);
  });
});
