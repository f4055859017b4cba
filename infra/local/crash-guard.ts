/**
 * Keeps one run from taking the local server down again and again. Before each Advance its run is
 * marked in flight in a small log file of the data directory, and the mark is undone when the
 * Advance returns or throws. A mark found at start without its undo means the process died while
 * advancing that run; after MAX_CRASHES such deaths in a row, the run is aborted (it fails with
 * `RunCrashedHost`) instead of being advanced once more, so the server comes up.
 *
 * Each mark is one line of a LineJournal (one synchronous write to a file kept open, rather than
 * rewriting and renaming a file twice per Advance), compacted at start and when it grows.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorInfo } from '../../shared/errors.js';
import { LineJournal } from './line-journal.js';

/** Deaths while advancing the same run, in a row, after which the run is aborted. */
export const MAX_CRASHES = 3;
const LOG = 'advancing.log';
/** The file an earlier version kept the same marks in, as JSON: read once, then removed. */
const LEGACY = 'advancing.json';

interface Marks {
  /** Runs being advanced now, by how many Advances are under way for each. */
  in_flight: Record<string, number>;
  /** Runs whose Advance the process died in, by how many times in a row. */
  crashes: Record<string, number>;
}

export class CrashGuard {
  readonly #marks: Marks;
  readonly #log: LineJournal;

  private constructor(file: string, marks: Marks) {
    this.#marks = marks;
    this.#log = new LineJournal(file, () => this.#lines());
  }

  /** Reads the marks a previous process left: each run still in flight counts one more crash. */
  static open(dataDir: string): CrashGuard {
    const found = read(join(dataDir, LOG), join(dataDir, LEGACY));
    const crashes = { ...found.crashes };
    for (const runId of Object.keys(found.in_flight)) crashes[runId] = (crashes[runId] ?? 0) + 1;
    const guard = new CrashGuard(join(dataDir, LOG), { in_flight: {}, crashes });
    rmSync(join(dataDir, LEGACY), { force: true });
    return guard;
  }

  /** The runs to abort instead of advancing, with the error each fails with. */
  toAbort(): Array<{ runId: string; error: ErrorInfo }> {
    return Object.entries(this.#marks.crashes)
      .filter(([, n]) => n >= MAX_CRASHES)
      .map(([runId, n]) => ({
        runId,
        error: {
          code: 'RunCrashedHost',
          message: `The server stopped ${n} times in a row while advancing this run; the run was failed so that the server can run`,
        },
      }));
  }

  /** Runs `advance` for a run with the run marked in flight; a normal end clears its crash count. */
  async around<T>(runId: string, advance: () => Promise<T>): Promise<T> {
    const marks = this.#marks;
    marks.in_flight[runId] = (marks.in_flight[runId] ?? 0) + 1;
    this.#log.append(`+${runId}`);
    try {
      return await advance();
    } finally {
      const left = (marks.in_flight[runId] ?? 1) - 1;
      if (left > 0) marks.in_flight[runId] = left;
      else delete marks.in_flight[runId];
      delete marks.crashes[runId];
      this.#log.append(`-${runId}`);
    }
  }

  /** Closes the log (the marks it holds stay for the next start). */
  close(): void {
    this.#log.close();
  }

  /** The log as what it means now: crash counts, runs in flight. */
  #lines(): string[] {
    const lines: string[] = [];
    for (const [runId, n] of Object.entries(this.#marks.crashes)) lines.push(`!${runId} ${n}`);
    for (const [runId, n] of Object.entries(this.#marks.in_flight)) {
      for (let i = 0; i < n; i++) lines.push(`+${runId}`);
    }
    return lines;
  }
}

/** The marks of the log (and of an earlier version's JSON file, if one is left). */
function read(file: string, legacy: string): Marks {
  const marks: Marks = { in_flight: {}, crashes: {} };
  try {
    const parsed = JSON.parse(readFileSync(legacy, 'utf8')) as Partial<Marks>;
    Object.assign(marks.in_flight, parsed.in_flight);
    Object.assign(marks.crashes, parsed.crashes);
  } catch (error) {
    // No file (the usual case), or one cut short: nothing was in flight that it knew of.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
  }
  for (const line of LineJournal.read(file)) {
    const runId = line.slice(1);
    if (line.startsWith('+')) marks.in_flight[runId] = (marks.in_flight[runId] ?? 0) + 1;
    else if (line.startsWith('-')) {
      const left = (marks.in_flight[runId] ?? 1) - 1;
      if (left > 0) marks.in_flight[runId] = left;
      else delete marks.in_flight[runId];
      delete marks.crashes[runId];
    } else if (line.startsWith('!')) {
      const [id, n] = runId.split(' ');
      if (id && Number(n) > 0) marks.crashes[id] = Number(n);
    }
  }
  return marks;
}
