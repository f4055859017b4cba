import { describe, expect, it } from 'vitest';
import { apply, createRun } from '../../../shared/engine/transition.js';
import type { RunState, Signal, StepResult } from '../../../shared/engine/types.js';
import { eventTrail, harnessFor, stepsWith } from './support.js';

const head = 'schema_version: "1.0"\nid: wf\nsteps:\n';

describe('engine: on_error', () => {
  it('sends a failed step to its handler, which sees the error at steps.<id>.error', async () => {
    const { harness } = harnessFor(`${head}
  - { id: risky, type: probe, config: { fail: { code: Boom } }, next: after, on_error: handle }
  - { id: after, type: probe }
  - { id: handle, type: transform, config: { output: "{{ steps.risky.error.code }}" } }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('completed');
    expect(run.output).toBe('Boom');
    expect(run.steps.risky!.status).toBe('failed');
    expect(run.steps.after!.status).toBe('skipped');
  });

  it.each([
    ['its own', `  - { id: a, type: probe, config: { fail: { code: Boom } }, on_error: a, max_visits: 3 }\n`],
    [
      'a step whose on_error leads back to it',
      `  - { id: a, type: probe, config: { fail: { code: Boom } }, on_error: b, max_visits: 3 }
  - { id: b, type: probe, config: { fail: { code: Boom } }, on_error: a, max_visits: 3 }
`,
    ],
  ])('fails the run with MaxVisitsExceeded when on_error is %s (the stack overflowed)', async (_, steps) => {
    const { harness, calls } = harnessFor(`${head}${steps}`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'MaxVisitsExceeded' });
    expect(calls.filter((c) => c.step === 'a')).toHaveLength(3);
  });

  it("bounds the render of a step's placeholders by its timeout_s: StepTimeout, not an ExpressionLimit", async () => {
    // Bound by time alone (40 deep, little memory): a loop that allocates as it goes could reach
    // the memory limit first on a fast machine, and fail as ExpressionLimit before the deadline.
    const endless = '{{ ($f := function($n){ $n < 2 ? $n : $f($n-1) + $f($n-2) }; $f(40)) }}';
    const { harness } = harnessFor(`${head}
  - id: slow
    type: transform
    timeout_s: 1
    config: { output: { a: "${endless}", b: "${endless}", c: "${endless}" } }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'StepTimeout', step_id: 'slow' });
  });

  it('fails the run with {code, message, step_id} when nobody handles the error', async () => {
    const { harness, calls } = harnessFor(`${head}
  - { id: a, type: probe, next: b }
  - { id: b, type: probe, config: { fail: { code: Boom } }, next: c }
  - { id: c, type: probe }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.error).toEqual({ code: 'Boom', message: 'b failed on attempt 1', step_id: 'b' });
    expect(calls.map((c) => c.step)).toEqual(['a', 'b']);
    expect(run.steps.c!.status).toBe('skipped');
    expect(eventTrail(harness, run.id).at(-1)).toBe('run.failed');
  });

  it('stops the other branches when one fails the run', async () => {
    const { harness } = harnessFor(`${head}
  - { id: a, type: probe, next: [bad, form] }
  - { id: bad, type: probe, config: { fail: { code: Boom } } }
  - { id: form, type: form, config: { fields: [{ key: x }] } }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.steps.form!.status).toBe('failed');
    expect(run.steps.form!.error?.code).toBe('Interrupted');
    expect(await harness.waiting(run.id)).toEqual([]);
  });

  it('ends the run with a fail step error', async () => {
    const { harness } = harnessFor(`${head}
  - { id: stop, type: fail, config: { error: ApprovalTimeout, message: Nobody answered } }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.error).toEqual({ code: 'ApprovalTimeout', message: 'Nobody answered', step_id: 'stop' });
  });
});

describe('engine: retries', () => {
  it('retries a retryable error with exponential backoff expressed as timers', async () => {
    const { harness, calls } = harnessFor(`${head}
  - id: flaky
    type: probe
    config: { fail: { code: Unavailable, retryable: true, times: 3 } }
    retry: { max_attempts: 4, backoff_s: 2, backoff_rate: 3, max_backoff_s: 10 }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('waiting');
    const delays = () =>
      harness
        .events(run.id)
        .filter((e) => e.type === 'step.retrying')
        .map((e) => e.data.delay_s);
    expect(delays()).toEqual([2]);
    await harness.advanceTime(1_999);
    expect(calls).toHaveLength(1);
    await harness.advanceTime(1);
    expect(calls).toHaveLength(2);
    await harness.advanceTime(6_000);
    expect(delays()).toEqual([2, 6, 10]);
    await harness.advanceTime(10_000);
    expect(harness.run(run.id).status).toBe('completed');
    expect(calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    expect(harness.history(run.id)[0]).toMatchObject({ status: 'completed', attempt: 4 });
    // It succeeded: the failed attempts' error is not the row's.
    expect(harness.history(run.id)[0]).not.toHaveProperty('error');
  });

  it('does not retry an error that cannot be retried', async () => {
    const { harness, calls } = harnessFor(`${head}
  - { id: a, type: probe, config: { fail: { code: BadRequest } }, retry: { max_attempts: 5 } }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(calls).toHaveLength(1);
  });

  it('fails after max_attempts', async () => {
    const { harness, calls } = harnessFor(`${head}
  - { id: a, type: probe, config: { fail: { code: Down, retryable: true } }, retry: { max_attempts: 2, backoff_s: 0 } }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(calls).toHaveLength(2);
    expect(run.error?.code).toBe('Down');
  });
});

describe('engine: timeouts', () => {
  it('fails an attempt that runs longer than timeout_s with a retryable StepTimeout', async () => {
    const { harness, calls } = harnessFor(
      `${head}
  - { id: slow, type: probe, config: { delay_ms: 5000 }, timeout_s: 0.05 }
`,
      { realTime: true },
    );
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.error).toMatchObject({ code: 'StepTimeout', step_id: 'slow' });
    // The attempt's signal was aborted, so the step's own work stopped too.
    expect(calls[0]!.aborted).toBe(true);
    harness.close();
  });

  it('takes the timeout outcome when nobody answers a form in time', async () => {
    const { harness } = harnessFor(`${head}
  - id: ask
    type: form
    config: { fields: [{ key: x }], timeout_s: 60 }
    next: { submitted: ok, timeout: late }
  - { id: ok, type: probe }
  - { id: late, type: probe, config: { output: late } }
`);
    const run = await harness.start('wf');
    expect((await harness.waiting(run.id))[0]).toMatchObject({
      step_id: 'ask',
      expires_at: '2026-01-01T00:01:00.000Z',
    });
    await harness.advanceTime(60_000);
    const done = harness.run(run.id);
    expect(done.status).toBe('completed');
    expect(done.output).toBe('late');
    expect(done.steps.ask!.outcome).toBe('timeout');
  });

  it('ends a wait step at its time', async () => {
    const { harness } = harnessFor(`${head}
  - { id: pause, type: wait, config: { seconds: 30 }, next: after }
  - { id: after, type: probe }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('waiting');
    await harness.advanceTime(29_000);
    expect(harness.run(run.id).status).toBe('waiting');
    await harness.advanceTime(1_000);
    expect(harness.run(run.id).status).toBe('completed');
    expect(harness.run(run.id).steps.pause!.output).toEqual({ waited_until: '2026-01-01T00:00:30.000Z' });
  });
});

describe('engine: compensation', () => {
  const saga = `${head}
  - { id: a, type: probe, next: [b, c], compensate: { type: probe, config: { output: undo-a } } }
  - { id: b, type: probe, config: { delay_ms: 20 }, next: d, compensate: { type: probe, config: { output: undo-b } } }
  - { id: c, type: probe, next: d, compensate: { type: probe, config: { output: undo-c } } }
  - { id: d, type: form, config: { fields: [{ key: go, type: boolean }] }, next: e }
  - { id: e, type: probe, config: { fail: { code: Boom } } }
`;
  const undone = (calls: Array<{ config: Record<string, unknown> }>) =>
    calls.map((c) => c.config.output).filter((o) => typeof o === 'string' && o.startsWith('undo-'));

  it('undoes completed steps in reverse completion order when the run fails', async () => {
    const { harness, calls } = harnessFor(saga);
    const run = await harness.start('wf');
    await harness.resume(run.id, { inputs: { go: true } });
    const done = harness.run(run.id);
    expect(done.status).toBe('failed');
    expect(done.compensated).toBe(true);
    // c finished before the slower b, so b is undone first, then c, then a.
    expect(stepsWith(harness, run.id, 'step.completed')).toEqual(['a', 'c', 'b', 'd']);
    expect(undone(calls)).toEqual(['undo-b', 'undo-c', 'undo-a']);
    expect(stepsWith(harness, run.id, 'step.compensated')).toEqual(['b', 'c', 'a']);
    expect(done.steps.a!.status).toBe('compensated');
    expect(done.steps.d!.status).toBe('completed');
    expect(eventTrail(harness, run.id).at(-1)).toBe('run.failed');
  });

  it('undoes completed steps when the run is canceled, and ends canceled', async () => {
    const { harness, calls } = harnessFor(saga);
    const run = await harness.start('wf');
    const outcome = await harness.cancel(run.id, 'Customer left');
    expect(outcome.accepted).toBe(true);
    const done = harness.run(run.id);
    expect(done.status).toBe('canceled');
    expect(done.compensated).toBe(true);
    expect(done.error).toEqual({ code: 'Canceled', message: 'Customer left' });
    expect(undone(calls)).toEqual(['undo-b', 'undo-c', 'undo-a']);
    expect(done.steps.d!.status).toBe('failed');
    expect(done.steps.e!.status).toBe('skipped');
  });

  it('reports compensated: false and the failures when an undo fails', async () => {
    const { harness } = harnessFor(`${head}
  - { id: a, type: probe, next: b, compensate: { type: probe, config: { fail: { code: UndoFailed } } } }
  - { id: b, type: probe, config: { fail: { code: Boom } } }
`);
    const run = await harness.start('wf');
    expect(run.status).toBe('failed');
    expect(run.compensated).toBe(false);
    expect(run.error).toMatchObject({
      code: 'Boom',
      details: { compensation_failures: [expect.objectContaining({ code: 'UndoFailed', step_id: 'a' })] },
    });
  });

  it('gives the compensation the output of the visit it undoes', async () => {
    const { harness, calls } = harnessFor(`${head}
  - id: book
    type: probe
    config: { output: { id: "booking-{{ steps.book.visit }}" } }
    next: boom
    compensate: { type: probe, config: { output: "undo {{ steps.book.output.id }}" } }
  - { id: boom, type: probe, config: { fail: { code: Boom } } }
`);
    await harness.start('wf');
    expect(calls.at(-1)!.config.output).toBe('undo booking-1');
  });

  it('carries on a compensation stored before it counted what is left, when it kept a copy of the completions', async () => {
    const { harness, registry } = harnessFor(`${head}
  - { id: a, type: probe, next: b, config: { output: out-a }, compensate: { type: probe } }
  - { id: b, type: probe, next: c, config: { output: out-b }, compensate: { type: probe } }
  - { id: c, type: probe, next: stop, config: { output: out-c }, compensate: { type: probe } }
  - { id: stop, type: fail, config: { error: Stopped } }
`);
    const workflow = await harness.workflow('wf');
    const env = { now: new Date('2026-01-01T00:00:00Z'), registry };
    /** Applies `signal` and answers every piece of work it hands out until the run ends; what was undone. */
    const finish = (state: RunState, signal: Signal) => {
      const undone: unknown[] = [];
      const pending: Signal[] = [signal];
      let current = state;
      while (pending.length > 0) {
        const transition = apply(workflow, current, pending.shift()!, env);
        current = transition.state;
        for (const work of transition.work) {
          if (work.kind !== 'execute' && work.kind !== 'compensate') continue;
          if (work.kind === 'compensate') undone.push(work.output);
          const output = work.kind === 'execute' ? `out-${work.step_id}` : undefined;
          const result: StepResult =
            work.step_id === 'stop' && work.kind === 'execute'
              ? { status: 'failed', error: { code: 'Stopped', message: 'stopped' } }
              : { status: 'completed', outcome: 'success', output };
          pending.push({
            type: 'step_result',
            step_id: work.step_id,
            visit: work.visit,
            attempt: work.attempt,
            result,
            ...(work.kind === 'compensate' ? { compensation: true } : {}),
          });
        }
      }
      return { state: current, undone };
    };
    // Up to the first compensation: c is being undone, b and a are left.
    let state = apply(
      workflow,
      createRun({ id: 'run_legacy', workflow, inputs: {}, now: env.now }).state,
      { type: 'start' },
      env,
    ).state;
    const signals: Signal[] = [];
    for (const id of ['a', 'b', 'c']) {
      signals.push({
        type: 'step_result',
        step_id: id,
        visit: 1,
        attempt: 1,
        result: { status: 'completed', outcome: 'success', output: `out-${id}` },
      });
    }
    for (const signal of signals) state = apply(workflow, state, signal, env).state;
    state = apply(
      workflow,
      state,
      {
        type: 'step_result',
        step_id: 'stop',
        visit: 1,
        attempt: 1,
        result: { status: 'failed', error: { code: 'Stopped', message: 'stopped' } },
      },
      env,
    ).state;
    expect(state.compensation).toMatchObject({ left: 2, current: { step_id: 'c' } });

    const undoC: Signal = {
      type: 'step_result',
      step_id: 'c',
      visit: 1,
      attempt: 1,
      compensation: true,
      result: { status: 'completed', outcome: 'success' },
    };
    const now = finish(structuredClone(state), undoC);
    // The same run as an earlier version stored it: the completions left to undo, the next first.
    const legacy = structuredClone(state);
    const { left, ...rest } = legacy.compensation!;
    legacy.compensation = { ...rest, queue: legacy.completions.slice(0, left).reverse() } as typeof rest & {
      left: number;
    };
    const before = finish(legacy, undoC);

    expect(now.undone).toEqual(['out-b', 'out-a']);
    expect(before.undone).toEqual(now.undone);
    expect(before.state).toEqual(now.state);
    expect(now.state).toMatchObject({ status: 'failed', compensated: true });
  });

  it('refuses to cancel a run that has ended', async () => {
    const { harness } = harnessFor(`${head}  - { id: a, type: probe }
`);
    const run = await harness.start('wf');
    const outcome = await harness.cancel(run.id);
    expect(outcome).toEqual({
      accepted: false,
      rejection: { code: 'Conflict', message: 'The run is already completed' },
    });
  });
});

describe('engine: idempotency keys', () => {
  it('gives a step and its compensation different keys, stable across attempts', async () => {
    const { harness } = harnessFor(`${head}
  - id: charge
    type: api_call
    config: { base_url: "https://pay.example.com", url: /charge, method: POST }
    next: boom
    compensate: { type: api_call, config: { base_url: "https://pay.example.com", url: /refund, method: POST } }
  - { id: boom, type: probe, config: { fail: { code: Boom } } }
`);
    const run = await harness.start('wf');
    const requests = (
      harness.http as unknown as { requests: Array<{ url: string; headers: Record<string, string> }> }
    ).requests;
    expect(requests.map((r) => [new URL(r.url).pathname, r.headers['idempotency-key']])).toEqual([
      ['/charge', `${run.id}:charge:1`],
      ['/refund', `${run.id}:charge:1:compensate`],
    ]);
  });
});
