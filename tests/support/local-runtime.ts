/**
 * The local runtime for tests and the benchmark: started on a fresh temporary data directory (or a
 * given one) with its failed executions collected, and a waiter for a stored run to reach a state.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalRuntime, type LocalRuntimeOptions } from '../../infra/local/runtime.js';
import type { WorkflowDefinition, WorkflowVersion } from '../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../shared/definition/validate.js';
import type { RunState } from '../../shared/engine/types.js';
import { type PollOptions, pollUntil } from './poll.js';

export interface RuntimeUnderTest {
  runtime: LocalRuntime;
  /** Where its stores keep their files: made for it unless one was given. */
  dataDir: string;
  /** Executions that failed (`name: error`): infrastructure trouble, not failed runs. Unused when `onExecutionError` is given. */
  failures: string[];
  /** Stops the runtime, once; the data directory stays, for a restart on it. */
  stop(): Promise<void>;
  /** Stops the runtime and removes the data directory if it was made here. */
  close(): Promise<void>;
}

/**
 * Starts a LocalRuntime. Unlike LocalRuntime.start, `dataDir` is optional (a temporary one is made)
 * and `env` defaults to none, so the settings of the machine running the tests do not leak in.
 */
export async function startLocalRuntime(
  options: Partial<LocalRuntimeOptions> = {},
): Promise<RuntimeUnderTest> {
  const made =
    options.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'flowrunner-runtime-')) : undefined;
  const dataDir = options.dataDir ?? made!;
  const remove = async () => {
    if (made !== undefined) await rm(made, { recursive: true, force: true });
  };
  const failures: string[] = [];
  let runtime: LocalRuntime;
  try {
    runtime = await LocalRuntime.start({
      env: {},
      onExecutionError: (name, error) => failures.push(`${name}: ${String(error)}`),
      ...options,
      dataDir,
    });
  } catch (error) {
    await remove();
    throw error;
  }
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= runtime.close();
    return stopping;
  };
  return {
    runtime,
    dataDir,
    failures,
    stop,
    async close() {
      await stop();
      await remove();
    },
  };
}

/** Validates a workflow (its YAML or JSON text, or the parsed definition) and stores it, as the API would. */
export function storeWorkflow(
  runtime: LocalRuntime,
  source: string | WorkflowDefinition,
): Promise<WorkflowVersion> {
  return runtime.local.stores.workflows.create(assertValidWorkflow(source), new Date());
}

/** Polls the stored run until it satisfies `done` (the runtime works in the background). */
export function until(
  runtime: LocalRuntime,
  runId: string,
  done: (run: RunState) => boolean,
  options: PollOptions = {},
): Promise<RunState> {
  return pollUntil(
    async () => (await runtime.local.stores.runs.get(runId)).state,
    done,
    (state) =>
      `run ${runId} of ${state.workflow_id} is still ${state.status}: ` +
      JSON.stringify(state.active.map((id) => [id, state.steps[id]])),
    options,
  );
}

/** The run is over: nothing more will happen to it. */
export const hasEnded = (run: RunState): boolean => ['completed', 'failed', 'canceled'].includes(run.status);
