/** Child runs of `workflow` steps as real runs: started once per idempotency key, canceled through their inbox. */
import { createHash } from 'node:crypto';
import { isFinal } from '../engine/transition.js';
import { StepError } from '../errors.js';
import type { ChildRuns, StartChildRequest, Telemetry } from '../ports/index.js';
import { MAX_CHILD_DEPTH } from '../steps/workflow.js';
import { deliverSignal, findRun, type OrchestratorDeps, startRun } from './orchestrator.js';
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

/**
 * How many child runs one tree of runs may start in all (its root's children, theirs, and so on):
 * as many as one step may visit. Depth is capped too (MAX_CHILD_DEPTH), but a workflow that starts
 * six copies of itself is a legal tree of 72 million runs at depth 10.
 */
export const MAX_CHILD_RUNS_PER_TREE = 10_000;

export function orchestratedChildren(
  deps: ChildRunDeps,
  maxRunsPerTree = MAX_CHILD_RUNS_PER_TREE,
): ChildRuns & { under(telemetry: Telemetry): ChildRuns } {
  /**
   * Counts one more run of the tree, or refuses it: once its first run has ended (canceled, failed; its
   * cancel reaches the runs below one level at a time, and a wide tree kept growing long after it),
   * and not past its count. A start cut off between its count and its run counts once more when
   * it is repeated.
   */
  async function admit(request: StartChildRequest): Promise<void> {
    if (request.root_run_id !== request.parent_run_id) {
      const root = await findRun(deps.stores.runs, request.root_run_id);
      if (root !== undefined && isFinal(root.state.status)) {
        throw new StepError(
          'RunTreeEnded',
          `Run '${request.root_run_id}', the first of this tree of child runs, is ${root.state.status}: ` +
            'the tree starts no more child runs',
          { retryable: false },
        );
      }
    }
    if (!(await deps.stores.trees.admit(request.root_run_id, maxRunsPerTree))) {
      throw new StepError(
        'ChildRunLimit',
        `The runs started by run '${request.root_run_id}' and its child runs have started ${maxRunsPerTree} child runs, ` +
          'the most one tree of runs may: does a workflow start copies of itself?',
        { retryable: false },
      );
    }
  }

  return {
    // A step hands its span down: the child run's root hangs under it (run-telemetry.ts).
    under: (telemetry) => orchestratedChildren({ ...deps, telemetry }, maxRunsPerTree),
    async start(request) {
      // The step checks this first (its failure names the step); a caller that did not is refused here.
      if (!(request.depth >= 1 && request.depth <= MAX_CHILD_DEPTH)) {
        throw new StepError(
          'ChildDepthExceeded',
          `A child run ${request.depth} levels deep: child runs nest at most ${MAX_CHILD_DEPTH} deep`,
        );
      }
      const runId = childRunId(request.idempotency_key);
      // First: a workflow that is gone fails the step without counting a child that never starts.
      const workflow = await deps.stores.workflows.get(request.workflow_id, request.version);
      // A start repeated (a retried attempt) finds its child: nothing to check or count again.
      if ((await findRun(deps.stores.runs, runId)) === undefined) await admit(request);
      // startRun is idempotent for a given run id, and finishes a start that was cut off part-way.
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
            root_run_id: request.root_run_id,
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
