/** Child runs of `workflow` steps as real runs: started once per idempotency key and attempt, canceled through their inbox. */
import { createHash } from 'node:crypto';
import type { WorkflowVersion } from '../definition/schema.js';
import { checkRunInputs } from '../engine/inputs.js';
import { isFinal } from '../engine/transition.js';
import { StepError } from '../errors.js';
import type { ChildRuns, StartChildRequest, Telemetry } from '../ports/index.js';
import { MAX_CHILD_DEPTH } from '../steps/workflow.js';
import { deliverSignal, findRun, type OrchestratorDeps, startRun } from './orchestrator.js';
import { PARENT_CANCEL_SIGNAL_ID } from './signal-ids.js';

/**
 * The run id of the child for a key (run, step, visit) and attempt: a repeated start of one attempt
 * always names the same child, and each attempt its own (a retry after a StepTimeout, which canceled
 * the child before it, must not find that one). The first attempt's id is the key's alone, as it was
 * before attempts had their own, so a child started by an earlier version is still found.
 */
function childRunId(idempotencyKey: string, attempt: number): string {
  const name = attempt <= 1 ? idempotencyKey : `${idempotencyKey}:attempt:${attempt}`;
  return `run_c${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
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

/**
 * What a new run of the child's workflow must meet, as a start through the API does (409 retired,
 * 422 inputs): a retired workflow starts no new runs, and the inputs fit its `inputs` schema. Both
 * are the workflow's or the step's to fix, so neither is retried.
 */
async function checkNewChild(
  deps: Pick<ChildRunDeps, 'stores'>,
  request: StartChildRequest,
  workflow: WorkflowVersion,
): Promise<void> {
  if ((await deps.stores.workflows.summary(request.workflow_id)).retired) {
    throw new StepError(
      'WorkflowRetired',
      `Workflow '${request.workflow_id}' is retired: it starts no new runs`,
      { retryable: false },
    );
  }
  const issues = checkRunInputs(workflow.definition, request.inputs ?? {});
  if (issues.length > 0) {
    throw new StepError(
      'InvalidInputs',
      `The inputs do not fit the inputs schema of workflow '${request.workflow_id}' (version ${workflow.version}): ` +
        issues.map((issue) => `${issue.path} ${issue.message}`).join('; '),
      { retryable: false, details: { issues } },
    );
  }
}

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
      const runId = childRunId(request.idempotency_key, request.attempt ?? 1);
      // First: a workflow that is gone fails the step without counting a child that never starts.
      const workflow = await deps.stores.workflows.get(request.workflow_id, request.version);
      // A start repeated (the same attempt after a crash) finds its child: nothing to check or count
      // again, even if the workflow was retired since; only a new child is refused.
      if ((await findRun(deps.stores.runs, runId)) === undefined) {
        await checkNewChild(deps, request, workflow);
        await admit(request);
      }
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
