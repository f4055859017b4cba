/** `npm run chaos`: the full reliability harness against a real server; prints one JSON line of figures. */
import { runChaos } from './chaos.js';

const figures = await runChaos({
  loadRuns: Number(process.env.CHAOS_LOAD_RUNS ?? 200),
  crashRuns: Number(process.env.CHAOS_CRASH_RUNS ?? 20),
  memoryWarmupRuns: Number(process.env.CHAOS_MEMORY_WARMUP_RUNS ?? 2000),
  memoryRuns: Number(process.env.CHAOS_MEMORY_RUNS ?? 5000),
  settleMs: 120_000,
  log: (line) => process.stderr.write(`chaos: ${line}\n`),
});
process.stdout.write(`${JSON.stringify(figures)}\n`);
const broken =
  figures.chaos_lost +
  figures.chaos_stuck +
  figures.chaos_double +
  figures.chaos_signals_double +
  figures.chaos_5xx;
process.exitCode = broken > 0 ? 1 : 0;
