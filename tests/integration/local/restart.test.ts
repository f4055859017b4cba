/**
 * What a restart of the local runtime owes the runs it finds: a timer that fell due while the
 * process was down fires at once, exactly once; a run that was stored (already started) but whose
 * execution never began goes on. (The first broke before: it spun Advance forever.)
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/adapters/clock.js';
import { apply, createRun } from '../../../shared/engine/transition.js';
import { cleanupAfterEach } from '../../support/cleanup.js';
import { startLocalRuntime, storeWorkflow, until } from '../../support/local-runtime.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const defer = cleanupAfterEach();

const HOUR = 3_600_000;

const timers = `schema_version: "1.0"
id: timers
steps:
  - { id: nap, type: wait, config: { seconds: 3600 }, next: ask }
  - id: ask
    type: form
    config: { fields: [{ key: x }], timeout_s: 600 }
    next: { submitted: done, timeout: late }
  - { id: done, type: transform, config: { output: answered } }
  - { id: late, type: transform, config: { output: timed-out } }
`;

const ask = `schema_version: "1.0"
id: ask
steps:
  - { id: q, type: form, config: { fields: [{ key: x }] } }
`;

async function runtimeAt(clock: ManualClock, dataDir?: string) {
  const started = await startLocalRuntime({ clock, ...(dataDir === undefined ? {} : { dataDir }) });
  defer(started.close);
  defer(() => expect(started.failures).toEqual([]));
  return started;
}

describe('the local runtime after a restart', () => {
  it('fires a wait and a form timeout that fell due while it was down, at once and once each', async () => {
    const clock = new ManualClock();
    const first = await runtimeAt(clock);
    const workflow = await storeWorkflow(first.runtime, timers);
    const run = await first.runtime.startRun(workflow, {});
    await until(first.runtime, run.id, (r) => r.status === 'waiting' && r.steps.nap?.status === 'waiting');
    await first.stop();

    // Down for two hours: the wait (1 h) is long due; the form's 10 minutes start when it begins.
    clock.advance(2 * HOUR);
    const second = await runtimeAt(clock, first.dataDir);
    await until(second.runtime, run.id, (r) => r.steps.ask?.status === 'waiting');
    await second.stop();

    clock.advance(HOUR);
    const third = await runtimeAt(clock, first.dataDir);
    const done = await until(third.runtime, run.id, (r) => r.status === 'completed');
    expect(done.output).toBe('timed-out');
    const { events } = await third.runtime.local.stores.runs.events(run.id, { limit: 500 });
    const completed = events.filter((e) => e.type === 'step.completed').map((e) => e.step_id);
    expect(completed).toEqual(['nap', 'ask', 'late']);
  });

  it('picks up hundreds of waiting runs a few Advances at a time, and loses none of them', async () => {
    const clock = new ManualClock();
    const first = await runtimeAt(clock);
    const workflow = await storeWorkflow(first.runtime, ask);
    const runs = [];
    for (let i = 0; i < 200; i++) runs.push(await first.runtime.startRun(workflow, {}));
    for (const run of runs) await until(first.runtime, run.id, (r) => r.status === 'waiting');
    await first.stop();

    // Before the bound, a restart advanced every run at once: memory grew with their number, and
    // the server it belongs to answered nothing until all were done.
    const second = await startLocalRuntime({ clock, dataDir: first.dataDir, maxConcurrentAdvances: 3 });
    defer(second.close);
    defer(() => expect(second.failures).toEqual([]));
    // Each run is picked up again: an answer reaches every one of them.
    for (const run of runs) {
      await second.runtime.deliver(run.id, `answer-${run.id}`, {
        type: 'resume',
        step_id: 'q',
        payload: { inputs: { x: run.id } },
      });
    }
    for (const run of runs) {
      const done = await until(second.runtime, run.id, (r) => r.status === 'completed');
      expect(done.output).toEqual({ x: run.id });
    }
    expect(second.runtime.advances.peak).toBe(3);
  });

  it('goes on with a run that was stored already started but whose execution never began', async () => {
    const clock = new ManualClock();
    const first = await runtimeAt(clock);
    const workflow = await storeWorkflow(first.runtime, timers.replace('seconds: 3600', 'seconds: 0'));
    // The crash window of startRun: the run is stored (its start applied, its first step dispatched),
    // then the process dies before the execution is started.
    const created = createRun({ id: 'run_cut_off', workflow, inputs: {}, now: clock.now() });
    const started = apply(
      workflow,
      created.state,
      { type: 'start' },
      {
        now: clock.now(),
        registry: first.runtime.deps.registry,
      },
    );
    await first.runtime.local.stores.runs.create({
      ...started,
      events: [...created.events, ...started.events],
    });
    await first.stop();

    const second = await runtimeAt(clock, first.dataDir);
    const waiting = await until(second.runtime, 'run_cut_off', (r) => r.steps.ask?.status === 'waiting');
    expect(waiting.status).toBe('waiting');
    await second.runtime.deliver('run_cut_off', 'answer', {
      type: 'resume',
      payload: { inputs: { x: '1' } },
    });
    expect((await until(second.runtime, 'run_cut_off', (r) => r.status === 'completed')).output).toBe(
      'answered',
    );
    const { events } = await second.runtime.local.stores.runs.events('run_cut_off', { limit: 100 });
    expect(events.filter((e) => e.type === 'step.started' && e.step_id === 'nap')).toHaveLength(1);
  });
});
