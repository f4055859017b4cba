/** Child runs of `workflow` steps as real runs: started once per idempotency key, canceled through their inbox. */
import { createHash } from 'node:crypto';
import { StepError } from '../errors.js';
import type { ChildRuns, Telemetry } from '../ports/index.js';
import { MAX_CHILD_DEPTH } from '../steps/workflow.js';
import { deliverSignal, type OrchestratorDeps, startRun } from './orchestrator.js';
import { PARENT_CANCEL_SIGNAL_ID } from './signal-ids.js';

/** The run id of the child for a key: the same key (run, step, visit) always names the same child. */
function childRunId(idempotencyKey: string): string {
  return `run_c${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}`;
}

/** Starting and canceling a run needs the stores, the state machine and the step types (a start is applied at once), not the step services. */
type ChildRunDeps = Pick<
  OrchestratorDeps,
  'stores' | 'clock' | 'ids' | 'tokens' | 'executions' | 'registry' | 'telemetry' | 'metrics'
>;

export function orchestratedChildren(
  deps: ChildRunDeps,
): ChildRuns & { under(telemetry: Telemetry): ChildRuns } {
  return {
    // A step hands its span down: the child run's root hangs under it (run-telemetry.ts).
    under: (telemetry) => orchestratedChildren({ ...deps, telemetry }),
    async start(request) {
      // The step checks this first (its failure names the step); a caller that did not is refused here.
      if (!(request.depth >= 1 && request.depth <= MAX_CHILD_DEPTH)) {
        throw new StepError(
          'ChildDepthExceeded',
          `A child run ${request.depth} levels deep: child runs nest at most ${MAX_CHILD_DEPTH} deep`,
        );
      }
      const runId = childRunId(request.idempotency_key);
      // startRun is idempotent for a given run id, and finishes a start that was cut off part-way.
      const workflow = await deps.stores.workflows.get(request.workflow_id, request.version);
      await startRun(
        {
          workflow,
          inputs: request.inputs ?? {},
          runId,
          parent: {
            run_id: request.parent_run_id,
            step_id: request.parent_step_id,
            visit: request.visit,
            depth: request.depth,
          },
        },
        deps,
      );
      return { run_id: runId };
    },
    async cancel(runId) {
      await deliverSignal(
        runId,
        PARENT_CANCEL_SIGNAL_ID,
        { type: 'cancel', reason: 'The parent run ended' },
        deps,
      );
    },
  };
}
