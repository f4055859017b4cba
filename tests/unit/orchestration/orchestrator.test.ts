import { describe, expect, it } from 'vitest';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import type { Signal } from '../../../shared/engine/types.js';
import { orchestratedChildren } from '../../../shared/orchestration/children.js';
import {
  advance,
  awaitSignal,
  deliverSignal,
  type OrchestratorDeps,
  redriveRun,
  startRun,
} from '../../../shared/orchestration/orchestrator.js';
import type { RunStore } from '../../../shared/ports/index.js';
import { MAX_CHILD_DEPTH } from '../../../shared/steps/workflow.js';
import { drive, memoryOrchestrator, NOW } from '../../support/memory-orchestrator.js';

async function setUp(yaml: string | string[]) {
  const { deps, stores, http, clock, completed, started } = memoryOrchestrator((request) => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: new URL(request.url).pathname }),
  }));
  const [first, ...others] = Array.isArray(yaml) ? yaml : [yaml];
  for (const other of others) await stores.workflows.create(assertValidWorkflow(other), NOW);
  const workflow = await stores.workflows.create(assertValidWorkflow(first!), NOW);
  return { deps, stores, http, clock, completed, started, workflow };
}

/**
 * Advances every execution started so far, again and again, until none has anything left to do.
 * Without a bound on child runs each pass starts more, for ever: it gives up after 3 × the depth bound.
 */
async function driveEveryExecution(deps: OrchestratorDeps, started: Array<{ name: string }>) {
  const finished = new Set<string>();
  for (let pass = 0; finished.size < started.length || pass === 0; pass++) {
    if (pass > 3 * MAX_CHILD_DEPTH) throw new Error(`${started.length} runs and still starting more`);
    for (const { name } of [...started]) {
      if (finished.has(name)) continue;
      if ((await drive(deps, name)).directive !== 'await') finished.add(name);
    }
  }
}

/** Every commit that records an event of `type` fails with `message`, as a store that keeps refusing it. */
function refuseCommits(stores: { runs: RunStore }, type: string, message: string): void {
  const commit = stores.runs.commit.bind(stores.runs);
  stores.runs.commit = async (transition, options) => {
    if (transition.events.some((e) => e.type === type)) throw new Error(message);
    return commit(transition, options);
  };
}

/** The start of a workflow `wf`, its steps to follow. */
const head = 'schema_version: "1.0"\nid: wf\nsteps:\n';

const formThenCall = `${head}  - { id: ask, type: form, config: { fields: [{ key: name, required: true }] }, next: call }
  - { id: call, type: api_call, config: { base_url: "https://api.example.com", url: "/hello/{{ steps.ask.output.name }}" } }
`;

describe('orchestration', () => {
  it('starts a run: stored already started with its first step dispatched, in one write, one execution named after it', async () => {
    const { deps, stores, started, workflow } = await setUp(formThenCall);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect(run).toMatchObject({ status: 'running', checkpoint: 1 });
    expect(run.steps.ask).toMatchObject({ status: 'running', visit: 1, attempt: 1 });
    expect(started).toEqual([{ run_id: run.id, name: run.id, generation: 0 }]);
    expect(await stores.inbox.read(run.id, 0)).toEqual([]);
    const { events } = await stores.runs.events(run.id);
    expect(events.map((e) => [e.seq, e.type, e.step_id])).toEqual([
      [1, 'run.created', undefined],
      [2, 'run.started', undefined],
      [3, 'step.started', 'ask'],
    ]);
    expect((await stores.runs.get(run.id)).state).toEqual(run);
  });

  it('advances to a wait, parks on a token, and is woken by a delivered signal', async () => {
    const { deps, stores, completed, workflow } = await setUp(formThenCall);
    const run = await startRun({ workflow, inputs: {} }, deps);
    const first = await drive(deps, run.id);
    expect(first).toMatchObject({ directive: 'await', checkpoint: 2 });
    expect(first.wait_seconds).toBeUndefined();

    await awaitSignal({ run_id: run.id, checkpoint: first.checkpoint, task_token: 'token-1' }, deps);
    expect(completed).toEqual([]);
    expect((await stores.runs.get(run.id)).task_token).toBe('token-1');

    const resume: Signal = { type: 'resume', step_id: 'ask', payload: { inputs: { name: 'ada' } } };
    expect(await deliverSignal(run.id, 'req-1', resume, deps)).toEqual({ accepted: true });
    expect(completed).toEqual(['token-1']);

    const done = await drive(deps, run.id);
    expect(done.directive).toBe('done');
    const record = await stores.runs.get(run.id);
    expect(record.state.output).toMatchObject({ body: { path: '/hello/ada' } });
    expect(record.task_token).toBeUndefined();
  });

  it('does not hang when the signal arrives while the wait is being set up', async () => {
    const { deps, completed, workflow } = await setUp(formThenCall);
    const run = await startRun({ workflow, inputs: {} }, deps);
    const first = await drive(deps, run.id);
    // The resume lands after Advance returned and before AwaitSignal stored its token.
    await deliverSignal(run.id, 'req-1', { type: 'resume', payload: { inputs: { name: 'x' } } }, deps);
    expect(completed).toEqual([]);
    await awaitSignal({ run_id: run.id, checkpoint: first.checkpoint, task_token: 'token-2' }, deps);
    expect(completed).toEqual(['token-2']);
    expect((await drive(deps, run.id)).directive).toBe('done');
  });

  it('applies a repeated delivery of the same signal once', async () => {
    const { deps, http, workflow } = await setUp(formThenCall);
    const run = await startRun({ workflow, inputs: {} }, deps);
    await drive(deps, run.id);
    const resume: Signal = { type: 'resume', payload: { inputs: { name: 'x' } } };
    expect(await deliverSignal(run.id, 'req-1', resume, deps)).toEqual({ accepted: true });
    expect(await deliverSignal(run.id, 'req-1', resume, deps)).toEqual({ accepted: false });
    expect((await drive(deps, run.id)).directive).toBe('done');
    expect(http.requests).toHaveLength(1);
  });

  it('never runs a completed step twice when Advance dies after persisting, and finishes on the retry', async () => {
    const yaml = `${head}  - { id: a, type: api_call, config: { base_url: "https://api.example.com", url: /a }, next: b }
  - { id: b, type: api_call, config: { base_url: "https://api.example.com", url: /b }, next: c }
  - { id: c, type: api_call, config: { base_url: "https://api.example.com", url: /c } }
`;
    const { deps, stores, http, workflow } = await setUp(yaml);
    const run = await startRun({ workflow, inputs: {} }, deps);
    // The store accepts the commit of step a's result, then the process dies.
    const commit = stores.runs.commit.bind(stores.runs);
    let commits = 0;
    stores.runs.commit = async (transition, options) => {
      await commit(transition, options);
      commits += 1;
      if (transition.events.some((e) => e.type === 'step.completed' && e.step_id === 'a'))
        throw new Error('crash');
    };
    await expect(advance({ run_id: run.id, generation: 0 }, deps)).rejects.toThrow('crash');
    stores.runs.commit = commit;
    expect(commits).toBe(1);

    expect((await drive(deps, run.id)).directive).toBe('done');
    expect(http.requests.map((r) => new URL(r.url).pathname)).toEqual(['/a', '/b', '/c']);
  });

  it('fails a run whose Advance kept failing, after its inbox and before any step, and a redrive goes on from there', async () => {
    const yaml = `${head}  - { id: a, type: api_call, config: { base_url: "https://api.example.com", url: /a }, next: ask }
  - { id: ask, type: form, config: { fields: [{ key: name, required: true }] }, next: b }
  - { id: b, type: api_call, config: { base_url: "https://api.example.com", url: "/b/{{ steps.ask.output.name }}" } }
`;
    const { deps, stores, http, workflow } = await setUp(yaml);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect((await drive(deps, run.id)).directive).toBe('await');
    // An answer came and was accepted; then every Advance failed until the retries ran out.
    const resume: Signal = { type: 'resume', payload: { inputs: { name: 'x' } } };
    expect(await deliverSignal(run.id, 'answer-1', resume, deps)).toEqual({ accepted: true });
    const cause = JSON.stringify({
      errorType: 'TypeError',
      errorMessage: 'Cannot read properties of undefined (reading "ask")',
      trace: ['TypeError: Cannot read properties of undefined', '    at commit (/var/task/advance.mjs:1:2)'],
    });
    const aborted = await advance(
      { run_id: run.id, generation: 0, failure: { Error: 'TypeError', Cause: cause } },
      deps,
    );
    expect(aborted.directive).toBe('failed');

    const { state } = await stores.runs.get(run.id);
    expect(state.status).toBe('failed');
    expect(state.error).toEqual({
      code: 'AdvanceFailed',
      message: expect.stringContaining('(TypeError: Cannot read properties of undefined (reading "ask"))'),
    });
    expect(state.error?.message).not.toContain('/var/task');
    // The accepted answer was kept; step b, which it let go on to, was not started; the inbox is empty.
    expect(state.steps.ask).toMatchObject({ status: 'completed', output: { name: 'x' } });
    expect(http.requests.map((r) => new URL(r.url).pathname)).toEqual(['/a']);
    expect(await stores.inbox.read(run.id, 0)).toEqual([]);

    await redriveRun(run.id, undefined, deps);
    expect((await drive(deps, run.id)).directive).toBe('done');
    // Steps a and ask completed before the failure and were not executed again.
    expect(http.requests.map((r) => new URL(r.url).pathname)).toEqual(['/a', '/b/x']);
  });

  it('starts no compensation in Abort, and ends a compensation that keeps failing at the next Abort', async () => {
    const yaml = `${head}  - id: a
    type: api_call
    config: { base_url: "https://api.example.com", url: /a }
    compensate: { type: api_call, config: { base_url: "https://api.example.com", url: /undo-a } }
    next: ask
  - { id: ask, type: form, config: { fields: [{ key: name, required: true }] } }
`;
    const { deps, stores, http, workflow } = await setUp(yaml);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect((await drive(deps, run.id)).directive).toBe('await');
    const failure = { Error: 'Error', Cause: 'the table is throttled' };
    // Abort fails the run and leaves its compensation to the next Advance; the same Abort tried
    // again (a Lambda retry: the same transition count) applies its abort once, and gives up nothing.
    for (let tries = 0; tries < 2; tries++) {
      const aborted = await advance({ run_id: run.id, generation: 0, transitions: 10, failure }, deps);
      expect(aborted.directive).toBe('continue');
    }
    const aborted = (await stores.runs.get(run.id)).state;
    expect(aborted).toMatchObject({
      status: 'running',
      error: { code: 'AdvanceFailed' },
      compensation: { reason: 'failed', failures: [] },
    });
    // Step a's undo is still to do (dispatched, not started).
    expect(
      aborted.compensation?.current?.step_id ??
        aborted.completions[(aborted.compensation?.left ?? 0) - 1]?.step_id,
    ).toBe('a');
    expect(http.requests.map((r) => new URL(r.url).pathname)).toEqual(['/a']);
    // Storing the compensation's result keeps failing, so the Advance does.
    refuseCommits(stores, 'step.compensated', 'the table is throttled');
    await expect(advance({ run_id: run.id, generation: 0 }, deps)).rejects.toThrow('the table is throttled');
    expect(http.requests.map((r) => new URL(r.url).pathname)).toEqual(['/a', '/undo-a']);
    // The next Abort (later in the execution) gives the compensation up: the run ends, what was not undone listed.
    const next = await advance({ run_id: run.id, generation: 0, transitions: 20, failure }, deps);
    expect(next.directive).toBe('failed');
    const { state } = await stores.runs.get(run.id);
    expect(state).toMatchObject({ status: 'failed', compensated: false });
    expect(state.compensation).toBeUndefined();
    expect(state.error).toMatchObject({
      code: 'AdvanceFailed',
      details: { compensation_failures: [{ code: 'AdvanceFailed', step_id: 'a' }] },
    });
  });

  it('fails the run first when applying its inbox is what keeps failing, and drops the inbox with it', async () => {
    const { deps, stores, http, workflow } = await setUp(formThenCall);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect((await drive(deps, run.id)).directive).toBe('await');
    const resume: Signal = { type: 'resume', payload: { inputs: { name: 'x' } } };
    await deliverSignal(run.id, 'answer-1', resume, deps);
    // Storing the answer is refused, every time.
    refuseCommits(stores, 'step.completed', 'the item is too large');
    await expect(advance({ run_id: run.id, generation: 0 }, deps)).rejects.toThrow('the item is too large');
    const failure = { Error: 'Error', Cause: 'the item is too large' };
    const aborted = await advance({ run_id: run.id, generation: 0, transitions: 9, failure }, deps);
    expect(aborted.directive).toBe('failed');
    const { state } = await stores.runs.get(run.id);
    expect(state.status).toBe('failed');
    expect(state.error?.code).toBe('AdvanceFailed');
    expect(state.steps.ask?.status).not.toBe('completed');
    expect(await stores.inbox.read(run.id, 0)).toEqual([]);
    expect(http.requests).toEqual([]);
  });

  it('lets one of two overlapping Advance invocations win; the other asks to continue', async () => {
    const { deps, stores, http, workflow } = await setUp(
      formThenCall.replace(
        'form, config: { fields: [{ key: name, required: true }] }',
        'transform, config: { output: { name: n } }',
      ),
    );
    const run = await startRun({ workflow, inputs: {} }, deps);
    const [one, two] = await Promise.all([
      advance({ run_id: run.id, generation: 0 }, deps),
      advance({ run_id: run.id, generation: 0 }, deps),
    ]);
    expect([one.directive, two.directive].sort()).toEqual(['continue', 'done']);
    expect((await stores.runs.get(run.id)).state.status).toBe('completed');
    // Side effects are at-least-once: the loser may have made its call before its commit was refused.
    expect(http.requests.length).toBeGreaterThanOrEqual(1);
    expect(http.requests.length).toBeLessThanOrEqual(2);
  });

  it('sleeps through a short timer and awaits a long one with its timeout', async () => {
    const { deps, clock, workflow } =
      await setUp(`${head}  - { id: short, type: wait, config: { seconds: 30 }, next: long }
  - { id: long, type: wait, config: { seconds: 3600 } }
`);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect(await drive(deps, run.id)).toMatchObject({
      directive: 'sleep',
      sleep_until: '2026-01-01T00:00:30.000Z',
    });
    clock.advance(30_000);
    expect(await drive(deps, run.id, { type: 'timeout' })).toMatchObject({
      directive: 'await',
      wait_seconds: 3600,
    });
    clock.advance(3_600_000);
    expect((await drive(deps, run.id, { type: 'timeout' })).directive).toBe('done');
  });

  it('hands off to a fresh execution when the history budget is near', async () => {
    const { deps, workflow } = await setUp(formThenCall);
    const run = await startRun({ workflow, inputs: {} }, deps);
    const output = await advance(
      { run_id: run.id, generation: 0, transitions: 10_000 },
      { ...deps, handoffAfterTransitions: 100 },
    );
    expect(output.directive).toBe('handoff');
  });

  it('ends with the directive of the final status, and cancels through the inbox', async () => {
    const { deps, workflow } = await setUp(formThenCall);
    const run = await startRun({ workflow, inputs: {} }, deps);
    await drive(deps, run.id);
    await deliverSignal(run.id, 'cancel-1', { type: 'cancel', reason: 'no longer needed' }, deps);
    expect((await drive(deps, run.id)).directive).toBe('canceled');
    expect((await advance({ run_id: run.id, generation: 0 }, deps)).directive).toBe('canceled');
  });

  describe('a cancel or a pause sent while a step is under way', () => {
    const chain = `${head}  - id: book
    type: api_call
    config: { url: "https://api.example.com/book" }
    compensate: { type: api_call, config: { url: "https://api.example.com/undo" } }
    next: pay
  - { id: pay, type: api_call, config: { url: "https://api.example.com/pay" } }
`;

    /** A run of `chain` whose first call is answered only once `during` sent its signal. */
    async function sentDuringBook(during: Signal, bookStatus = 200) {
      let deps!: OrchestratorDeps;
      const paths: string[] = [];
      const orchestrator = memoryOrchestrator(async (request) => {
        const path = new URL(request.url).pathname;
        paths.push(path);
        if (path !== '/book')
          return { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
        await deliverSignal(runId, `${during.type}-1`, during, deps);
        return { status: bookStatus, headers: { 'content-type': 'application/json' }, body: '{}' };
      });
      deps = orchestrator.deps;
      const workflow = await orchestrator.stores.workflows.create(assertValidWorkflow(chain), NOW);
      const run = await startRun({ workflow, inputs: {} }, deps);
      const runId = run.id;
      return { deps, stores: orchestrator.stores, paths, runId, output: await drive(deps, runId) };
    }

    it('is applied before the next step starts: a cancel undoes what was done and starts nothing more', async () => {
      const { stores, paths, runId, output } = await sentDuringBook({ type: 'cancel', reason: 'stop' });
      expect(output.directive).toBe('canceled');
      expect(paths).toEqual(['/book', '/undo']);
      const { state } = await stores.runs.get(runId);
      expect(state).toMatchObject({ status: 'canceled', compensated: true, error: { code: 'Canceled' } });
      expect(await stores.inbox.read(runId, 0)).toEqual([]);
    });

    it('waits for the other branches’ calls under way, so that what each did is undone too', async () => {
      let deps!: OrchestratorDeps;
      let p1Done!: () => void;
      const p1Answered = new Promise<void>((resolve) => {
        p1Done = resolve;
      });
      const paths: string[] = [];
      const orchestrator = memoryOrchestrator(async (request) => {
        const path = new URL(request.url).pathname;
        paths.push(path);
        if (path === '/p1') {
          await deliverSignal(runId, 'cancel-1', { type: 'cancel' }, deps);
          setTimeout(p1Done, 5);
        }
        // p2's call is still out when p1's result (and the cancel) come.
        if (path === '/p2') await p1Answered.then(() => new Promise((resolve) => setTimeout(resolve, 20)));
        return { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
      });
      deps = orchestrator.deps;
      const branch = (id: string) => `  - id: ${id}
    type: api_call
    config: { url: "https://api.example.com/${id}" }
    compensate: { type: api_call, config: { url: "https://api.example.com/undo-${id}" } }
    next: after_${id}
  - { id: after_${id}, type: api_call, config: { url: "https://api.example.com/after-${id}" } }
`;
      const parallel = `${head}  - { id: fan, type: transform, config: { output: 1 }, next: [p1, p2] }
${branch('p1')}${branch('p2')}`;
      const workflow = await orchestrator.stores.workflows.create(assertValidWorkflow(parallel), NOW);
      const runId = (await startRun({ workflow, inputs: {} }, deps)).id;
      expect((await drive(deps, runId)).directive).toBe('canceled');
      // Both calls were made: both are undone.
      expect(paths.filter((p) => p.startsWith('/undo')).sort()).toEqual(['/undo-p1', '/undo-p2']);
      expect((await orchestrator.stores.runs.get(runId)).state).toMatchObject({
        status: 'canceled',
        compensated: true,
      });
    });

    it('comes too late during the last step: the run completes with its output, nothing undone', async () => {
      let deps!: OrchestratorDeps;
      const paths: string[] = [];
      const orchestrator = memoryOrchestrator(async (request) => {
        const path = new URL(request.url).pathname;
        paths.push(path);
        if (path === '/book') await deliverSignal(runId, 'cancel-1', { type: 'cancel' }, deps);
        return { status: 200, headers: { 'content-type': 'application/json' }, body: '{"id":7}' };
      });
      deps = orchestrator.deps;
      const last = `${head}  - id: book
    type: api_call
    config: { url: "https://api.example.com/book" }
    compensate: { type: api_call, config: { url: "https://api.example.com/undo" } }
output: { booking: "{{ steps.book.output.body.id }}" }
`;
      const workflow = await orchestrator.stores.workflows.create(assertValidWorkflow(last), NOW);
      const runId = (await startRun({ workflow, inputs: {} }, deps)).id;
      expect((await drive(deps, runId)).directive).toBe('done');
      expect(paths).toEqual(['/book']);
      const { state } = await orchestrator.stores.runs.get(runId);
      expect(state).toMatchObject({ status: 'completed', output: { booking: 7 } });
      expect(state.compensated).toBeUndefined();
    });

    it('cancels the run when the step under way then fails: the failure no longer ends the run first', async () => {
      // The call fails and nothing handles it: the run failed, and the cancel told 202 was dropped.
      const { stores, paths, runId, output } = await sentDuringBook({ type: 'cancel', reason: 'stop' }, 400);
      expect(output.directive).toBe('canceled');
      expect(paths).toEqual(['/book']);
      const { state } = await stores.runs.get(runId);
      expect(state).toMatchObject({ status: 'canceled', error: { code: 'Canceled' } });
      expect(await stores.inbox.read(runId, 0)).toEqual([]);
    });

    it('is applied before the next step starts: a pause holds it until the run is unpaused', async () => {
      const { deps, stores, paths, runId, output } = await sentDuringBook({ type: 'pause' });
      expect(output.directive).toBe('await');
      expect(paths).toEqual(['/book']);
      expect((await stores.runs.get(runId)).state.status).toBe('paused');
      await deliverSignal(runId, 'unpause-1', { type: 'unpause' }, deps);
      expect((await drive(deps, runId)).directive).toBe('done');
      expect(paths).toEqual(['/book', '/pay']);
    });
  });

  it('runs a child workflow as its own run and continues the parent with its output', async () => {
    const parent = `schema_version: "1.0"
id: parent
steps:
  - { id: kid, type: workflow, config: { workflow_id: child, inputs: { n: 4 } }, next: after }
  - { id: after, type: transform, config: { output: "{{ steps.kid.output.square }}" } }
`;
    const child = `schema_version: "1.0"
id: child
steps:
  - { id: square, type: transform, config: { output: { square: "{{ inputs.n * inputs.n }}" } } }
`;
    const { deps, stores, started, workflow } = await setUp([parent, child]);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect((await drive(deps, run.id)).directive).toBe('await');
    const childExecution = started.find((s) => s.name !== run.id)!;
    expect(childExecution).toBeDefined();
    expect((await drive(deps, childExecution.name)).directive).toBe('done');
    expect((await drive(deps, run.id)).directive).toBe('done');
    expect((await stores.runs.get(run.id)).state.output).toBe(16);
    // A retried Advance of the finished child tells the parent again, and the parent ignores it.
    expect((await advance({ run_id: childExecution.name, generation: 0 }, deps)).directive).toBe('done');
    expect((await stores.inbox.read(run.id, 0)).length).toBe(0);
  });

  it('stops a workflow that starts copies of itself once its tree started as many child runs as one tree may', async () => {
    const wide = `schema_version: "1.0"
id: wide
steps:
  - { id: fan, type: transform, config: { output: 1 }, next: [a, b, c] }
  - { id: a, type: workflow, config: { workflow_id: wide } }
  - { id: b, type: workflow, config: { workflow_id: wide } }
  - { id: c, type: workflow, config: { workflow_id: wide } }
`;
    const { deps: composed, stores, started, workflow } = await setUp(wide);
    const limit = 20;
    const deps = { ...composed, children: orchestratedChildren(composed, limit) };
    const top = await startRun({ workflow, inputs: {} }, deps);
    // Three children a run down to depth 10 is 88,573 runs: the tree stops long before.
    await driveEveryExecution(deps, started);
    // The run started on its own, and the child runs its tree may start.
    expect(started).toHaveLength(1 + limit);
    const runs = await Promise.all(started.map(({ name }) => stores.runs.get(name)));
    const refused = runs.flatMap(({ state }) =>
      Object.values(state.steps).filter((step) => step.error?.code === 'ChildRunLimit'),
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]!.error).toMatchObject({ retryable: false });
    expect(refused[0]!.error!.message).toContain(`run '${top.id}'`);
    // Every child knows the tree it belongs to.
    for (const { state } of runs) if (state.id !== top.id) expect(state.parent?.root_run_id).toBe(top.id);
    expect((await stores.runs.get(top.id)).state.status).toBe('failed');
  });

  it('starts no more child runs in a tree whose first run has ended', async () => {
    const { deps, stores, workflow } = await setUp(formThenCall);
    const root = await startRun({ workflow, inputs: {} }, deps);
    await drive(deps, root.id);
    await deliverSignal(root.id, 'cancel-1', { type: 'cancel' }, deps);
    expect((await drive(deps, root.id)).directive).toBe('canceled');
    // A run two levels down that has not heard of the cancel yet asks for one more child.
    const start = orchestratedChildren(deps).start({
      parent_run_id: 'run_below',
      parent_step_id: 'call',
      visit: 1,
      depth: 2,
      root_run_id: root.id,
      workflow_id: 'wf',
      inputs: {},
      idempotency_key: 'run_below:call:1',
    });
    await expect(start).rejects.toMatchObject({ code: 'RunTreeEnded', retryable: false });
    expect(await stores.trees.admit(root.id, 1)).toBe(true);
  });

  it('counts no child run for a start that fails because its workflow is gone', async () => {
    const orphan = `${head}  - { id: call, type: workflow, config: { workflow_id: nowhere } }
`;
    const { deps: composed, stores, workflow } = await setUp(orphan);
    const deps = { ...composed, children: orchestratedChildren(composed, 1) };
    const run = await startRun({ workflow, inputs: {} }, deps);
    await drive(deps, run.id);
    expect((await stores.runs.get(run.id)).state.steps.call!.error).toMatchObject({ code: 'NotFound' });
    expect(await stores.trees.admit(run.id, 1)).toBe(true);
  });

  it('stops a workflow that starts itself: the step that would nest a child too deep fails', async () => {
    const again = `schema_version: "1.0"
id: again
steps:
  - { id: deeper, type: workflow, config: { workflow_id: again } }
`;
    const { deps, stores, started, workflow } = await setUp(again);
    const top = await startRun({ workflow, inputs: {} }, deps);
    await driveEveryExecution(deps, started);
    // The run started on its own and one child at each depth, down to the bound.
    expect(started).toHaveLength(MAX_CHILD_DEPTH + 1);
    const runs = await Promise.all(started.map(({ name }) => stores.runs.get(name)));
    const depths = runs.map(({ state }) => state.parent?.depth ?? 0).sort((a, b) => a - b);
    expect(depths).toEqual(Array.from({ length: MAX_CHILD_DEPTH + 1 }, (_, depth) => depth));
    const deepest = runs.find(({ state }) => state.parent?.depth === MAX_CHILD_DEPTH)!.state;
    expect(deepest.status).toBe('failed');
    expect(deepest.steps.deeper!.error).toMatchObject({ code: 'ChildDepthExceeded', retryable: false });
    expect(deepest.steps.deeper!.error!.message).toMatch(/11 levels deep.*at most 10/);
    // Each parent's step failed with its child, up to the run that started it all.
    expect(runs.map(({ state }) => state.status)).toEqual(runs.map(() => 'failed'));
    expect((await stores.runs.get(top.id)).state.status).toBe('failed');
  });
});
