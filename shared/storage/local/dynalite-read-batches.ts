/**
 * Keeps the native memory of dynalite's reads small. On disk, dynalite reads LevelDB through
 * classic-level, whose iterators fetch entries in batches: one entry first, then 1,000 at a time.
 * For each batch the native iterator reserves room for that many entries (64 bytes each: 64 KB)
 * and keeps it, with a copy of the entries it read, until the collector finalizes the iterator's
 * JS handle — closing the iterator does not free it — and V8 is not told of that memory, so
 * nothing hurries the collection. Every Query and Scan makes such an iterator: measured with
 * heaptrack over 4,000 runs of `npm start`, these buffers were the largest native consumer (88 MB
 * at peak), and the memory they return after a collection leaves malloc's heaps fragmented, so
 * RSS kept rising for thousands of runs.
 *
 * A batch stops anyway at 16 KB of entries (classic-level's `highWaterMarkBytes`), which items of
 * the size the stores write (0.3–1 KB) reach after a few dozen entries: asking for at most
 * MAX_ENTRIES_PER_BATCH costs no extra trip for them, and reserves 4 KB instead of 64.
 */
import { createRequire } from 'node:module';

export const MAX_ENTRIES_PER_BATCH = 64;

/** The part of classic-level's native binding (no types) that is used here. */
interface ClassicLevelBinding {
  iterator_nextv: (context: unknown, size: number) => Promise<unknown[]>;
  [CAPPED]?: true;
}

const CAPPED = Symbol.for('flowrunner.classicLevelBatchesCapped');

/** classic-level's native binding, as dynalite's `level` loads it. */
export function classicLevelBinding(): ClassicLevelBinding {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const fromLevel = createRequire(fromDynalite.resolve('level'));
  const binding = createRequire(fromLevel.resolve('classic-level'))(
    './binding',
  ) as Partial<ClassicLevelBinding>;
  if (typeof binding.iterator_nextv !== 'function') {
    throw new Error(
      "classic-level: its binding has no iterator_nextv() any more; shared/storage/local/dynalite-read-batches.ts caps the size of dynalite's read batches through it: check what changed in classic-level and update it",
    );
  }
  return binding as ClassicLevelBinding;
}

/** Caps every batch classic-level's iterators ask for at MAX_ENTRIES_PER_BATCH entries; once per process. */
export function capDynaliteReadBatches(): void {
  const binding = classicLevelBinding();
  if (binding[CAPPED]) return;
  const nextv = binding.iterator_nextv;
  // classic-level's iterator.js looks the function up on the binding at each call, so this reaches every iterator.
  binding.iterator_nextv = (context, size) => nextv(context, Math.min(size, MAX_ENTRIES_PER_BATCH));
  binding[CAPPED] = true;
}
