/**
 * A finished run dies young: nothing keeps a run's state after its loop ends, so V8's
 * young-generation collections free it, and only what outlives the runs (nothing, after the
 * warm-up) reaches the old generation. It used to be kept: three module-wide WeakMaps held values
 * of each run (the run's context, its steps' view, the view's entries), which V8 treats as alive in
 * a young collection, so every run's whole state (25 KB for 100 steps) was copied into the old
 * generation, each young collection took 5–7 times as long, and only a full collection freed them.
 * At 1,000 steps a second cause kept them: see `MAX_KB_PER_RUN`.
 * The runs happen in a child process (young-generation-child.ts) started with --expose-gc.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runNodeChild } from '../../support/node-child.js';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Old-generation growth allowed per run, in the median block: 5 KB for a run of 100 steps, 20 KB
 * for one of 1,000 (its whole state is ~220 KB). Measured: 0.0–0.7 KB and 0.0 since the fixes,
 * with one block of 5 on a busy machine (code the JIT optimized meanwhile keeps data there); before
 * them, 20–30 KB in every block at 100 steps, and 185–190 KB at 1,000 while step states were made
 * by an object literal that V8 had decided to allocate in the old generation (transition.ts,
 * `pendingStep`).
 */
const MAX_KB_PER_RUN = { 100: 5, 1000: 20 };

describe('the memory of a finished run', () => {
  it.each([100, 1000] as const)(
    'is freed by young-generation collections at %i steps: no run reaches the old generation',
    {
      timeout: 120_000,
    },
    async (steps) => {
      const { code, stdout, stderr } = await runNodeChild(
        ['--expose-gc', '--import', 'tsx', join(here, 'young-generation-child.ts'), String(steps)],
        { cwd: join(here, '../../..') },
      );
      const line = stdout.split('\n').find((text) => text.startsWith('{"kbPerRun"'));
      if (code !== 0 || line === undefined) {
        throw new Error(`young-generation-child exited with ${code}\nstdout: ${stdout}\nstderr: ${stderr}`);
      }
      const { kbPerRun } = JSON.parse(line) as { kbPerRun: number[] };
      console.info(
        `old generation KB per run of ${steps} steps: ${kbPerRun.map((kb) => kb.toFixed(1)).join(', ')}`,
      );
      expect(kbPerRun).toHaveLength(5);
      const median = [...kbPerRun].sort((a, b) => a - b)[2]!;
      expect(median).toBeLessThan(MAX_KB_PER_RUN[steps]);
    },
  );
});
