/**
 * The process that young-generation.test.ts starts: runs of a chain (100 steps unless told) of transforms through
 * the run loop, with only young-generation collections between two measurements of the old
 * generation. A run that nothing keeps dies young; one that something keeps until a full
 * collection (a long-lived WeakMap holding a value of the run: V8 treats a young value stored in an
 * old WeakMap as alive in its young collections) is copied into the old generation. Prints one JSON
 * line: the old generation's growth per run, in KB, for each measured block.
 *
 * Usage: node --expose-gc --import tsx tests/integration/engine/young-generation-child.ts [steps]
 */
import v8 from 'node:v8';
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import { createRun } from '../../../shared/engine/transition.js';
import { RunLoop } from '../../../shared/orchestration/run-loop.js';
import { memoryOrchestrator } from '../../support/memory-orchestrator.js';

type Collect = (options?: { type: 'minor' | 'major'; execution?: 'sync' }) => void;
const gc = (globalThis as { gc?: Collect }).gc;
if (gc === undefined) throw new Error('young-generation-child needs node --expose-gc');

/** Steps per run: the first argument (100 unless given). */
const SIZE = Number(process.argv[2] ?? 100);
const RUNS_PER_BLOCK = 50;

const definition: WorkflowDefinition = {
  schema_version: '1.0',
  id: 'chain',
  steps: Array.from({ length: SIZE }, (_, i) => ({
    id: `s${i}`,
    type: 'transform',
    config: {
      output:
        i === 0
          ? { n: 1 }
          : { n: `{{ steps.s${i - 1}.output.n + 1 }}`, label: `step {{ steps.s${i - 1}.output.n + 1 }}` },
    },
    ...(i + 1 < SIZE ? { next: `s${i + 1}` } : {}),
  })),
};

const { deps } = memoryOrchestrator();
const workflow = {
  id: definition.id,
  version: 1,
  definition: assertValidWorkflow(definition, { registry: deps.registry }),
  created_at: deps.clock.now().toISOString(),
};

async function once(id: string): Promise<void> {
  const created = createRun({ id, workflow, inputs: {}, now: deps.clock.now() });
  const loop = new RunLoop(created.state, { workflow, executor: deps, persist: async () => {} });
  loop.deliver({ type: 'start' });
  const { state } = await loop.run();
  if (state.status !== 'completed') throw new Error(`run ${id} ended ${state.status}`);
}

function oldGenerationBytes(): number {
  return v8.getHeapSpaceStatistics().find((space) => space.space_name === 'old_space')!.space_used_size;
}

/** Two young collections: a survivor of the first is copied within the young generation, of the second promoted. */
function collectYoung(): void {
  gc!({ type: 'minor', execution: 'sync' });
  gc!({ type: 'minor', execution: 'sync' });
}

// Warm-up: compiled templates, optimized code and caches that fill once.
for (let i = 0; i < 200; i++) await once(`warm_${i}`);
gc({ type: 'major', execution: 'sync' });

const kbPerRun: number[] = [];
for (let block = 0; block < 5; block++) {
  collectYoung();
  const before = oldGenerationBytes();
  for (let i = 0; i < RUNS_PER_BLOCK; i++) await once(`run_${block}_${i}`);
  collectYoung();
  kbPerRun.push((oldGenerationBytes() - before) / 1024 / RUNS_PER_BLOCK);
}
process.stdout.write(`${JSON.stringify({ kbPerRun })}\n`);
