/**
 * `npm run bench`: measures the engine through the run loop Advance uses and, in the same process,
 * the peer (aws-local-stepfunctions running an equivalent chain), then prints one JSON line.
 */
import '../../infra/local/node20-polyfills.js';
import { performance } from 'node:perf_hooks';
import type { WorkflowDefinition, WorkflowVersion } from '../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../shared/definition/validate.js';
import { createRun } from '../../shared/engine/transition.js';
import { RunLoop } from '../../shared/orchestration/run-loop.js';
import { memoryOrchestrator } from '../support/memory-orchestrator.js';
import { measureAiOverhead } from './ai.js';
import { coldStartKeys, measureColdStart } from './cold-start.js';
import { measureOrchestration } from './orchestration.js';
import { measurePeerAsl } from './peer-asl.js';
import { measureStoreFigures } from './storage.js';
import { measureTracingOverhead } from './tracing.js';
import { measureTriggerMatch, measureTriggerToRunStarted } from './triggers.js';

/** A linear workflow of `size` transform steps, each with one placeholder over the previous output. */
export function linearWorkflow(size: number): WorkflowDefinition {
  return {
    schema_version: '1.0',
    id: `linear-${size}`,
    steps: Array.from({ length: size }, (_, i) => ({
      id: `s${i}`,
      type: 'transform',
      config: {
        output:
          i === 0
            ? { n: 1, label: 'step 1' }
            : { n: `{{ steps.s${i - 1}.output.n + 1 }}`, label: `step {{ steps.s${i - 1}.output.n + 1 }}` },
      },
      ...(i + 1 < size ? { next: `s${i + 1}` } : {}),
    })),
  };
}

interface EngineResult {
  us_per_step: number;
  runs_per_s: number;
}

/**
 * Runs of one size, one at a time, timed from start to completion, through the run loop that Advance
 * uses (transition, executor, rendering) with a persist that keeps nothing: the engine's cost alone,
 * as the peer's figure is the interpreter's alone. (The harness adds the in-memory store, which
 * copies the whole state on every commit as a real store would write it.)
 */
async function measureEngine(size: number, runs: number, warmupRuns: number): Promise<EngineResult> {
  const { deps } = memoryOrchestrator();
  const workflow: WorkflowVersion = {
    id: `linear-${size}`,
    version: 1,
    definition: assertValidWorkflow(linearWorkflow(size), { registry: deps.registry }),
    created_at: deps.clock.now().toISOString(),
  };
  const once = async (id: string) => {
    const created = createRun({ id, workflow, inputs: {}, now: deps.clock.now() });
    const loop = new RunLoop(created.state, { workflow, executor: deps, persist: async () => {} });
    loop.deliver({ type: 'start' });
    const { state } = await loop.run();
    if (state.status !== 'completed' || (state.output as { n: number }).n !== size) {
      throw new Error(`${workflow.id} ended ${state.status} with ${JSON.stringify(state.output)}`);
    }
  };
  for (let i = 0; i < warmupRuns; i++) await once(`warm_${i}`);
  const started = performance.now();
  for (let i = 0; i < runs; i++) await once(`run_${i}`);
  const elapsed = performance.now() - started;
  return { us_per_step: (elapsed * 1000) / (runs * size), runs_per_s: (runs * 1000) / elapsed };
}

/**
 * Steps run before either side is timed, at every size. Each measurement starts from a new workflow
 * (the engine's validated definition and compiled templates, the peer's validated state machine),
 * which the next young-generation collections copy and promote; at 1,000 steps the engine's is
 * ~2 MB, and behind a warm-up of 3 runs (less allocation than one young generation) those
 * collections fell into the 10 timed runs: 12–15 ms copies in a window of ~25 ms, half the
 * engine's figure on some rounds. Compiling a workflow version is paid once per version and
 * process, not per step; both sides get the same warm-up, by steps, so both are timed warm.
 */
const WARMUP_STEPS = 10_000;

function warmupRuns(size: number): number {
  return Math.max(3, Math.ceil(WARMUP_STEPS / size));
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * The engine and the peer at one size, measured in turns, `rounds` times each: the medians. One
 * measurement of each would compare an engine still warming up (each size is a new workflow) with
 * a peer measured seconds later under another load; in turns, both are warm and see the same load.
 */
async function measurePair(
  size: number,
  runs: number,
  rounds = 5,
): Promise<{ engine: EngineResult; peer_us_per_state: number }> {
  const engine: EngineResult[] = [];
  const peer: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const warmup = warmupRuns(size);
    engine.push(await measureEngine(size, runs, warmup));
    peer.push((await measurePeerAsl(size, runs, { warmupRuns: warmup })).us_per_state);
  }
  engine.sort((a, b) => a.us_per_step - b.us_per_step);
  return { engine: engine[Math.floor(rounds / 2)]!, peer_us_per_state: median(peer) };
}

export async function runBenchmark(): Promise<Record<string, number>> {
  let peakRss = process.memoryUsage().rss;
  const sample = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 20);
  try {
    const at10 = await measurePair(10, 1000);
    const at100 = await measurePair(100, 100);
    const at1000 = await measurePair(1000, 10);
    const [e10, e100, e1000] = [at10.engine, at100.engine, at1000.engine];
    const [p10, p100, p1000] = [at10, at100, at1000].map((pair) => pair.peer_us_per_state) as [
      number,
      number,
      number,
    ];
    const store = await measureStoreFigures();
    const orchestration = await measureOrchestration();
    const tracing = await measureTracingOverhead();
    const coldStart = coldStartKeys(await measureColdStart());
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    return {
      engine_us_per_step_10: round(e10.us_per_step),
      engine_us_per_step_100: round(e100.us_per_step),
      engine_us_per_step_1000: round(e1000.us_per_step),
      runs_per_s_10_steps: round(e10.runs_per_s, 0),
      peer_asl_us_per_state_10: round(p10),
      peer_asl_us_per_state_100: round(p100),
      peer_asl_us_per_state_1000: round(p1000),
      engine_vs_peer_100: round(e100.us_per_step / p100, 2),
      engine_vs_peer_1000: round(e1000.us_per_step / p1000, 2),
      ...store,
      transitions_per_step_10: round(orchestration.transitions_per_step_10, 2),
      local_e2e_ms_10_steps: round(orchestration.local_e2e_ms_10_steps, 0),
      trigger_match_us_per_event_100_listeners: round(await measureTriggerMatch(100)),
      trigger_to_run_started_ms: await measureTriggerToRunStarted(),
      tracing_overhead_pct: round(tracing.tracing_overhead_pct),
      tracing_added_us_per_step: round(tracing.tracing_added_us_per_step, 2),
      ai_overhead_ms_per_call: round((await measureAiOverhead()).ms_per_call, 2),
      ...coldStart,
      peak_rss_mb: round(peakRss / 1024 / 1024, 0),
    };
  } finally {
    clearInterval(sample);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await runBenchmark();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}
