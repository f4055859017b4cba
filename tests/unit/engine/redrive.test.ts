import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventTrail, harnessFor } from './support.js';

const head = 'schema_version: "1.0"\nid: wf\nsteps:\n';

describe('engine: redrive', () => {
  it('continues a failed run from the failed step; completed steps keep their output and do not run again', async () => {
    const { harness, calls, broken } = harnessFor(`${head}
  - { id: a, type: probe, config: { output: first }, next: b }
  - { id: b, type: probe, config: { fail: { code: Down, while: cause } }, next: c }
  - { id: c, type: probe, config: { output: "{{ steps.a.output }}" } }
`);
    const failed = await harness.start('wf');
    expect(failed.status).toBe('failed');
    expect(failed.steps.c!.status).toBe('skipped');
    const seqBefore = failed.seq;

    broken.delete('cause');
    expect(await harness.redrive(failed.id, 'ops@example.com')).toEqual({ accepted: true });
    const run = harness.run(failed.id);
    expect(run.status).toBe('completed');
    expect(run.output).toBe('first');
    expect(run.redrives).toBe(1);
    expect(run.error).toBeUndefined();
    expect(run.ended_at).toBeDefined();
    // a ran once; b twice (the failed visit, then the redriven one); c once.
    expect(calls.map((c) => `${c.step}:${c.visit}`)).toEqual(['a:1', 'b:1', 'b:2', 'c:1']);
    const trail = eventTrail(harness, run.id);
    expect(trail.slice(trail.indexOf('run.failed'))).toEqual([
      'run.failed',
      'run.redriven',
      'step.started:b',
      'step.completed:b',
      'step.started:c',
      'step.completed:c',
      'run.completed',
    ]);
    const redriven = harness.events(run.id).find((e) => e.type === 'run.redriven')!;
    expect(redriven.seq).toBe(seqBefore + 1);
    expect(redriven.data).toEqual({ redrive: 1, steps: ['b'], by: 'ops@example.com' });
    // The history keeps the failed visit, with its error, and adds the redriven one, without it.
    const rows = harness.history(run.id).filter((r) => r.step_id === 'b');
    expect(rows.map((r) => [r.visit, r.status, r.error?.code])).toEqual([
      [1, 'failed', 'Down'],
      [2, 'completed', undefined],
    ]);
    expect(rows[1]).not.toHaveProperty('error');
  });

  it('enters again every branch the failure interrupted, and only those', async () => {
    // `bad` fails a moment after the others started, so `done` has completed and `slow` waits.
    const { harness, calls, broken } = harnessFor(`${head}
  - { id: a, type: probe, next: [bad, slow, done] }
  - { id: bad, type: probe, config: { delay_ms: 30, fail: { code: Down, while: cause } }, next: join }
  - { id: slow, type: form, config: { fields: [{ key: x }] }, next: join }
  - { id: done, type: probe, next: join }
  - { id: join, type: probe }
`);
    const failed = await harness.start('wf');
    expect(failed.status).toBe('failed');
    expect(failed.steps.slow!.error?.code).toBe('Interrupted');
    expect(failed.stopped).toEqual({ steps: ['bad', 'slow'], unreached: ['join'] });
    broken.delete('cause');
    await harness.redrive(failed.id);
    let run = harness.run(failed.id);
    expect(run.status).toBe('waiting');
    expect((await harness.waiting(run.id)).map((w) => w.step_id)).toEqual(['slow']);
    expect(await harness.resume(run.id, { inputs: { x: 'answer' } })).toEqual({ accepted: true });
    run = harness.run(failed.id);
    expect(run.status).toBe('completed');
    expect(calls.filter((c) => c.step === 'done')).toHaveLength(1);
    expect(calls.filter((c) => c.step === 'a')).toHaveLength(1);
    expect(calls.filter((c) => c.step === 'join')).toHaveLength(1);
  });

  it('can fail again and be redriven again; each redrive is counted', async () => {
    const { harness, broken } = harnessFor(`${head}
  - { id: a, type: probe, next: b }
  - { id: b, type: probe, config: { fail: { code: Down, while: cause } } }
`);
    const failed = await harness.start('wf');
    await harness.redrive(failed.id);
    expect(harness.run(failed.id).status).toBe('failed');
    expect(harness.run(failed.id).redrives).toBe(1);
    broken.delete('cause');
    await harness.redrive(failed.id);
    const run = harness.run(failed.id);
    expect(run.status).toBe('completed');
    expect(run.redrives).toBe(2);
    expect(run.steps.b!.visit).toBe(3);
  });

  it('gives a fresh retry budget to the redriven step', async () => {
    const { harness, calls, broken } = harnessFor(`${head}
  - id: flaky
    type: probe
    config: { fail: { code: Down, retryable: true, while: cause } }
    retry: { max_attempts: 2, backoff_s: 1 }
`);
    const failed = await harness.start('wf');
    await harness.advanceTime(1_000);
    expect(harness.run(failed.id).status).toBe('failed');
    broken.delete('cause');
    await harness.redrive(failed.id);
    expect(harness.run(failed.id).status).toBe('completed');
    expect(calls.map((c) => `${c.visit}.${c.attempt}`)).toEqual(['1.1', '1.2', '2.1']);
  });

  it('is refused for a run that is not failed, and for a compensated one', async () => {
    const { harness, broken } = harnessFor(`${head}
  - { id: book, type: probe, next: pay, compensate: { type: probe } }
  - { id: pay, type: probe, config: { fail: { code: Declined, while: cause } } }
`);
    const compensated = await harness.start('wf');
    expect(compensated.status).toBe('failed');
    expect(compensated.compensated).toBe(true);
    const refused = await harness.redrive(compensated.id);
    expect(refused.accepted).toBe(false);
    expect(refused.rejection?.message).toMatch(/compensated.*rerun/);
    expect(harness.run(compensated.id).status).toBe('failed');

    broken.delete('cause');
    const completed = await harness.start('wf');
    expect(completed.status).toBe('completed');
    expect((await harness.redrive(completed.id)).rejection?.message).toMatch(
      /completed run cannot be redriven/,
    );
  });

  it('is refused for a child run: the parent is redriven, and starts the child again', async () => {
    const { harness, broken } = harnessFor([
      `${head}  - { id: call, type: workflow, config: { workflow_id: child } }\n`,
      'schema_version: "1.0"\nid: child\nsteps:\n  - { id: c, type: probe, config: { fail: { code: Down, while: cause } } }\n',
    ]);
    const parent = await harness.start('wf');
    expect(parent.status).toBe('failed');
    const childId = parent.steps.call!.error?.details?.child_run_id as string;
    expect((await harness.redrive(childId)).rejection?.message).toMatch(/redrive the parent/);
    broken.delete('cause');
    await harness.redrive(parent.id);
    const run = harness.run(parent.id);
    expect(run.status).toBe('completed');
    expect(run.steps.call!.visit).toBe(2);
  });

  it('redrives a run whose output failed to render by rendering it again', async () => {
    const { harness } = harnessFor(`schema_version: "1.0"
id: wf
output: "{{ $number('x') }}"
steps:
  - { id: a, type: probe }
`);
    const failed = await harness.start('wf');
    expect(failed.status).toBe('failed');
    expect(failed.stopped).toEqual({ steps: [], unreached: [] });
    await harness.redrive(failed.id);
    // Same template, same error: it fails again, but it was tried again (no step ran twice).
    const run = harness.run(failed.id);
    expect(run.status).toBe('failed');
    expect(eventTrail(harness, run.id).filter((t) => t === 'step.started:a')).toHaveLength(1);
    expect(run.redrives).toBe(1);
  });
});

describe('engine: redrive of random graphs', () => {
  /** Random chains and fan-outs whose failing steps fail until the cause is fixed. */
  const graphs = fc.integer({ min: 2, max: 9 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      parents: fc.array(fc.nat(), { minLength: n, maxLength: n }),
      failing: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      retryable: fc.boolean(),
    }),
  );

  it('completes after the cause is fixed, runs no completed step again, and keeps the event seq growing', async () => {
    await fc.assert(
      fc.asyncProperty(graphs, async ({ n, parents, failing, retryable }) => {
        const next: string[][] = Array.from({ length: n }, () => []);
        for (let i = 1; i < n; i++) next[parents[i]! % i]!.push(`s${i}`);
        const steps = next.map((targets, i) => ({
          id: `s${i}`,
          type: 'probe',
          config: failing[i] ? { fail: { code: 'Down', retryable, while: 'cause' } } : {},
          ...(targets.length > 0 ? { next: targets } : {}),
        }));
        const { harness, calls, broken } = harnessFor(
          JSON.stringify({ schema_version: '1.0', id: 'wf', steps }),
        );
        const first = await harness.start('wf');
        if (!failing.some(Boolean)) {
          expect(first.status).toBe('completed');
          expect((await harness.redrive(first.id)).accepted).toBe(false);
          return;
        }
        expect(first.status).toBe('failed');
        const completedBefore = new Set(
          Object.entries(first.steps)
            .filter(([, s]) => s.status === 'completed')
            .map(([id, s]) => `${id}:${s.visit}`),
        );
        const callsBefore = calls.length;
        const seqBefore = first.seq;
        broken.delete('cause');
        expect((await harness.redrive(first.id)).accepted).toBe(true);
        const run = harness.run(first.id);
        expect(run.status).toBe('completed');
        for (const call of calls.slice(callsBefore)) {
          expect(completedBefore.has(`${call.step}:${call.visit}`), `${call.step} ran again`).toBe(false);
        }
        for (const [id, step] of Object.entries(run.steps)) expect(step.status, id).toBe('completed');
        const seqs = harness.events(run.id).map((e) => e.seq);
        expect(seqs).toEqual(seqs.map((_, i) => i + 1));
        expect(run.seq).toBeGreaterThan(seqBefore);
      }),
      { numRuns: 100 },
    );
  });
});
