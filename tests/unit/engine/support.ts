/** Test support for the engine: a scriptable `probe` step type and a harness factory. */
import { z } from 'zod';
import { StepError } from '../../../shared/errors.js';
import { Harness, type HarnessOptions } from '../../../shared/harness/harness.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { defineStepType } from '../../../shared/steps/types.js';

export interface ProbeCall {
  step: string;
  visit: number;
  attempt: number;
  config: Record<string, unknown>;
  /** Set when the attempt's signal was aborted (its time ran out). */
  aborted?: boolean;
}

/**
 * A step type whose behaviour the workflow scripts: outcome, output, failures, slowness. A failure
 * with `while: <name>` happens only while `broken` holds that name: a test "fixes the cause" by
 * deleting it.
 */
export function probeType(calls: ProbeCall[], broken: ReadonlySet<string> = new Set()) {
  return defineStepType({
    type: 'probe',
    description: 'A scriptable step for tests.',
    config: z
      .object({
        outcome: z.string().default('success'),
        outcomes: z.array(z.string()).default(['success']),
        output: z.unknown().optional(),
        fail: z
          .object({
            code: z.string().default('ProbeFailed'),
            retryable: z.boolean().default(false),
            /** Fail this many attempts (per visit), then succeed; default: always. */
            times: z.int().optional(),
            while: z.string().optional(),
          })
          .optional(),
        delay_ms: z.int().min(0).default(0),
      })
      .strict(),
    action: true,
    outcomes: (config) => config.outcomes,
    async execute(ctx) {
      const call: ProbeCall = {
        step: ctx.step.id,
        visit: ctx.visit,
        attempt: ctx.attempt,
        config: ctx.config,
      };
      calls.push(call);
      if (ctx.config.delay_ms > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ctx.config.delay_ms);
          ctx.signal.addEventListener('abort', () => {
            call.aborted = true;
            clearTimeout(timer);
            resolve();
          });
        });
      }
      const fail = ctx.config.fail;
      const failing = fail && (fail.while === undefined || broken.has(fail.while));
      if (fail && failing && (fail.times === undefined || ctx.attempt <= fail.times)) {
        throw new StepError(fail.code, `${ctx.step.id} failed on attempt ${ctx.attempt}`, {
          retryable: fail.retryable,
        });
      }
      return {
        status: 'completed',
        outcome: ctx.config.outcome,
        output: ctx.config.output ?? { step: ctx.step.id },
      };
    },
  });
}

export function harnessFor(yaml: string | string[], options: HarnessOptions = {}) {
  const calls: ProbeCall[] = [];
  /** Names of the `fail.while` causes that are broken now. */
  const broken = new Set<string>(['cause']);
  const registry = createStepRegistry([probeType(calls, broken)]);
  const harness = new Harness({ registry, ...options, workflows: Array.isArray(yaml) ? yaml : [yaml] });
  return { harness, calls, broken, registry };
}

/** The event types of a run, with the step id where there is one: `step.completed:a`. */
export function eventTrail(harness: Harness, runId: string): string[] {
  return harness.events(runId).map((e) => (e.step_id ? `${e.type}:${e.step_id}` : e.type));
}

/** Step ids in the order of an event type, e.g. the order steps completed. */
export function stepsWith(harness: Harness, runId: string, type: string): string[] {
  return harness
    .events(runId)
    .filter((e) => e.type === type)
    .map((e) => e.step_id!);
}
