import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StepDefinition, WorkflowDefinition } from '../../../shared/definition/schema.js';
import { harnessFor } from './support.js';

const FINAL_STEP = new Set(['completed', 'failed', 'skipped', 'compensated']);
const FINAL_RUN = new Set(['completed', 'failed', 'canceled']);

interface StepPlan {
  /** Forward edges per outcome bucket: bucket 0 is `left`, 1 is `right`. */
  buckets: [number[], number[]];
  /** How `next` is written: one successor, a list, or an outcome map. */
  form: 'single' | 'list' | 'map';
  outcome: 'left' | 'right' | 'other';
  withDefault: boolean;
  fails: boolean;
  handler: boolean;
  compensate: boolean;
  /** A loop back to an earlier step, taken on the first visit only. */
  loopTo: number | undefined;
}

/** Random valid graphs: every step reachable from the first, loops always with a way out. */
const plans = fc
  .integer({ min: 2, max: 10 })
  .chain((n) =>
    fc.tuple(
      fc.constant(n),
      fc.array(
        fc.record({
          parentPick: fc.nat(),
          bucket: fc.integer({ min: 0, max: 1 }),
          extra: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 1 })), { maxLength: 2 }),
          form: fc.constantFrom('single', 'list', 'map', 'map'),
          outcome: fc.constantFrom('left', 'right', 'other'),
          withDefault: fc.boolean(),
          failRoll: fc.integer({ min: 0, max: 9 }),
          handler: fc.boolean(),
          compensate: fc.boolean(),
          loopRoll: fc.integer({ min: 0, max: 9 }),
          loopPick: fc.nat(),
        }),
        { minLength: n, maxLength: n },
      ),
    ),
  )
  .map(([n, raw]) => {
    const steps: StepPlan[] = raw.map((r) => ({
      buckets: [[], []],
      form: r.form as StepPlan['form'],
      outcome: r.outcome as StepPlan['outcome'],
      withDefault: r.withDefault,
      fails: r.failRoll < 2,
      handler: r.handler,
      compensate: r.compensate,
      loopTo: undefined,
    }));
    for (let i = 1; i < n; i++) {
      const r = raw[i]!;
      const parent = r.parentPick % i;
      steps[parent]!.buckets[steps[parent]!.form === 'map' ? r.bucket : 0]!.push(i);
      for (const [pick, bucket] of r.extra) {
        const to = i + 1 + (pick % Math.max(1, n - i - 1));
        if (to < n) steps[i]!.buckets[steps[i]!.form === 'map' ? bucket : 0]!.push(to);
      }
    }
    for (let i = 1; i < n; i++) {
      if (raw[i]!.loopRoll === 0 && steps[i]!.form === 'map') steps[i]!.loopTo = raw[i]!.loopPick % i;
    }
    return steps;
  });

function toWorkflow(plan: StepPlan[]): WorkflowDefinition {
  const id = (i: number) => `s${i}`;
  const steps: StepDefinition[] = plan.map((p, i) => {
    const step: StepDefinition = { id: id(i), type: 'probe', config: {} };
    const left = [...new Set(p.buckets[0])].map(id);
    const right = [...new Set(p.buckets[1])].map(id);
    if (p.form === 'single' && left.length === 1) step.next = left[0]!;
    else if (p.form !== 'map' && left.length > 0) step.next = left;
    else if (p.form === 'map') {
      const map: Record<string, string | string[]> = {};
      if (left.length > 0) map.left = left;
      if (right.length > 0) map.right = right;
      if (p.withDefault && right.length > 0) map.default = right;
      step.config.outcomes = ['left', 'right', 'other', 'again'];
      step.config.outcome = p.outcome;
      if (p.loopTo !== undefined) {
        // Loop on the first visit, then leave by the written outcome.
        map.again = id(p.loopTo);
        step.config.outcome = `{{ steps.${id(i)}.visit = 1 ? 'again' : '${p.outcome}' }}`;
      }
      if (Object.keys(map).length > 0) step.next = map;
    }
    if (p.fails) {
      step.config.fail = { code: 'Boom' };
      if (p.handler && i + 1 < plan.length) step.on_error = id(plan.length - 1);
    }
    if (p.compensate) step.compensate = { type: 'probe', config: { output: `undo-${id(i)}` } };
    step.max_visits = 3;
    return step;
  });
  return { schema_version: '1.0', id: 'random', steps };
}

describe('engine: properties of random graphs', () => {
  it('always reaches a final run status, with every step in a final status, and compensates in reverse', async () => {
    await fc.assert(
      fc.asyncProperty(plans, async (plan) => {
        const workflow = toWorkflow(plan);
        const { harness } = harnessFor(JSON.stringify(workflow));
        const run = await harness.start('random');
        // Nothing here waits for people or time: the run must have ended on its own (no deadlock).
        expect(FINAL_RUN.has(run.status)).toBe(true);
        for (const [id, step] of Object.entries(run.steps)) {
          expect(FINAL_STEP.has(step.status), `${id} is ${step.status}`).toBe(true);
        }
        expect(run.active).toEqual([]);
        const events = harness.events(run.id);
        const seqs = events.map((e) => e.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
        expect(new Set(seqs).size).toBe(seqs.length);
        const compensable = new Set(workflow.steps.filter((s) => s.compensate).map((s) => s.id));
        const completed = events.filter((e) => e.type === 'step.completed' && compensable.has(e.step_id!));
        const compensating = events.filter((e) => e.type === 'step.compensating').map((e) => e.step_id);
        if (run.status === 'failed') {
          expect(compensating).toEqual(completed.map((e) => e.step_id).reverse());
        } else {
          expect(compensating).toEqual([]);
        }
      }),
      // PROPERTY_RUNS=4000 looks harder (a minute), as a change to the engine deserves.
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 150) },
    );
  });
});
