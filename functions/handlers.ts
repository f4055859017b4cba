/**
 * The orchestration's handlers, built from their dependencies: the Lambda entry points and the local
 * runtime wire them differently and run the same code. Each checks its payload with zod.
 */
import { z } from 'zod';
import { ValidationError } from '../shared/errors.js';
import type { AdvanceInput, AdvanceOutput, AwaitSignalInput } from '../shared/orchestration/directive.js';
import { advance, awaitSignal, type OrchestratorDeps } from '../shared/orchestration/orchestrator.js';

const runId = z.string().min(1).max(128);

const advanceInput = z.object({
  run_id: runId,
  generation: z.int().min(0),
  transitions: z.int().min(0).optional(),
  signal: z.object({ type: z.literal('timeout') }).optional(),
});

const awaitSignalInput = z.object({
  run_id: runId,
  checkpoint: z.int().min(0),
  task_token: z.string().min(1),
});

function parse<T>(schema: z.ZodType<T>, event: unknown, what: string): T {
  const parsed = schema.safeParse(event);
  if (!parsed.success) {
    throw new ValidationError(
      `${what} payload is not valid`,
      parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message })),
    );
  }
  return parsed.data;
}

/** Advance: stops starting new work with a margin of the Lambda's remaining time left for the last step. */
export function createAdvanceHandler(deps: () => OrchestratorDeps | Promise<OrchestratorDeps>) {
  return async (
    event: unknown,
    context?: { getRemainingTimeInMillis?: () => number },
  ): Promise<AdvanceOutput> => {
    const input: AdvanceInput = parse(advanceInput, event, 'Advance');
    return advance(input, await deps(), { budgetMs: advanceBudgetMs(context) });
  };
}

/** Advance's budget: the invocation's remaining time less a minute for the last step to finish and be persisted. */
export function advanceBudgetMs(context?: { getRemainingTimeInMillis?: () => number }): number {
  const remaining = context?.getRemainingTimeInMillis?.() ?? 900_000;
  return Math.max(1_000, remaining - 60_000);
}

type AwaitSignalDeps = Pick<OrchestratorDeps, 'stores' | 'tokens'>;

export function createAwaitSignalHandler(deps: () => AwaitSignalDeps | Promise<AwaitSignalDeps>) {
  return async (event: unknown): Promise<void> => {
    const input: AwaitSignalInput = parse(awaitSignalInput, event, 'AwaitSignal');
    await awaitSignal(input, await deps());
  };
}
