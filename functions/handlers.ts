/**
 * The orchestration's handlers, built from their dependencies: the Lambda entry points and the local
 * runtime wire them differently and run the same code. Each checks its payload with zod.
 */
import { z } from 'zod';
import { type ErrorInfo, FlowrunnerError, toErrorInfo, ValidationError } from '../shared/errors.js';
import type { AdvanceInput, AdvanceOutput, AwaitSignalInput } from '../shared/orchestration/directive.js';
import { advance, awaitSignal, type OrchestratorDeps } from '../shared/orchestration/orchestrator.js';
import { deliverTrigger, type TriggerDeps } from '../shared/orchestration/triggers.js';
import type { TriggerDelivery, TriggerOutcome } from '../shared/ports/triggers.js';
import { deliveriesFromEvent } from '../shared/triggers/trigger-events.js';

const runId = z.string().min(1).max(128);

const advanceInput = z.object({
  run_id: runId,
  generation: z.int().min(0),
  transitions: z.int().min(0).optional(),
  signal: z.object({ type: z.literal('timeout') }).optional(),
  failure: z.object({ Error: z.string().nullish(), Cause: z.string().nullish() }).optional(),
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

/** What the trigger function did with one event: per delivery, each listener's outcome, or why it failed. */
export interface TriggerReport {
  deliveries: ({ type: TriggerDelivery['type']; event_id: string } & (
    | { outcomes: TriggerOutcome[] }
    | { error: ErrorInfo }
  ))[];
}

/**
 * Some deliveries of an event could not be carried out (a store that failed, a throttle). Thrown after
 * every other delivery was carried out: the retry that follows starts only what is missing, since each
 * (listener, event id) already started answers `duplicate`.
 */
export class TriggerDeliveryError extends FlowrunnerError {
  readonly report: TriggerReport;
  constructor(report: TriggerReport, failed: ErrorInfo[], cause: unknown) {
    super(
      'TriggerDeliveryFailed',
      `${failed.length} of ${report.deliveries.length} deliveries failed: ${failed
        .slice(0, 5)
        .map((f) => f.message)
        .join('; ')}${failed.length > 5 ? '; …' : ''}`,
      { retryable: failed.some((f) => f.retryable !== false), cause },
    );
    this.report = report;
  }
}

/**
 * How many deliveries of one event are dispatched at once: an S3 notification may hold many objects,
 * and each delivery makes a few store calls per listener.
 */
export const TRIGGER_CONCURRENCY = 8;

/** Each item's outcome, as Promise.allSettled gives them, with at most `limit` under way at once. */
async function settleEach<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]!) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * The trigger function: an S3 Object Created or other EventBridge event, an S3 notification or a
 * schedule fire (shared/triggers/trigger-events.ts), each delivery handed to the one dispatcher. A
 * malformed event is a ValidationError before anything starts.
 */
export function createTriggerHandler(deps: () => TriggerDeps | Promise<TriggerDeps>) {
  return async (event: unknown): Promise<TriggerReport> => {
    const deliveries = deliveriesFromEvent(event);
    const resolved = deliveries.length > 0 ? await deps() : undefined;
    const settled = await settleEach(deliveries, TRIGGER_CONCURRENCY, (delivery) =>
      deliverTrigger(resolved!, delivery),
    );
    const failed: ErrorInfo[] = [];
    let cause: unknown;
    const report: TriggerReport = {
      deliveries: deliveries.map(({ type, event_id }, index) => {
        const result = settled[index]!;
        if (result.status === 'fulfilled') return { type, event_id, outcomes: result.value };
        cause ??= result.reason;
        const error = toErrorInfo(result.reason);
        failed.push(error);
        return { type, event_id, error };
      }),
    };
    if (failed.length > 0) throw new TriggerDeliveryError(report, failed, cause);
    return report;
  };
}
