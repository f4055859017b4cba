/**
 * Figures of the orchestration on one machine: state transitions per executed step (counted from the
 * ASL interpreter's event log of the deployed definition) and the wall time of a 10-step run from
 * start to completed on the local runtime with its embedded, on-disk stores.
 */
import { performance } from 'node:perf_hooks';
import { countStateTransitions } from '../../infra/state-machine.js';
import { startLocalRuntime, storeWorkflow } from '../support/local-runtime.js';
import { linearWorkflow } from './run.js';

export interface OrchestrationFigures {
  transitions_per_step_10: number;
  local_e2e_ms_10_steps: number;
}

export async function measureOrchestration(runs = 20): Promise<OrchestrationFigures> {
  const logs = new Map<string, AsyncIterable<{ type: string }>>();
  const { runtime, close } = await startLocalRuntime({
    onExecution: (name, events) => logs.set(name, events),
    onExecutionError: (name, error) => {
      throw new Error(`execution ${name} failed: ${String(error)}`);
    },
  });
  try {
    const workflow = await storeWorkflow(runtime, linearWorkflow(10));
    const timings: number[] = [];
    let transitions = 0;
    for (let i = 0; i < runs + 2; i++) {
      const started = performance.now();
      const run = await runtime.startRun(workflow, {});
      await runtime.settled();
      const elapsed = performance.now() - started;
      const { state } = await runtime.local.stores.runs.get(run.id);
      if (state.status !== 'completed') throw new Error(`bench run ended ${state.status}`);
      if (i < 2) continue; // warm-up
      timings.push(elapsed);
      const events: Array<{ type: string }> = [];
      for await (const event of logs.get(run.id)!) events.push(event);
      transitions += countStateTransitions(events);
    }
    timings.sort((a, b) => a - b);
    return {
      transitions_per_step_10: transitions / (runs * 10),
      local_e2e_ms_10_steps: timings[Math.floor(timings.length / 2)]!,
    };
  } finally {
    await close();
  }
}
