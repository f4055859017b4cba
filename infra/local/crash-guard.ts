/**
 * Keeps one run from taking the local server down again and again. Before each Advance its run is
 * marked in flight in a small file of the data directory, and the mark goes when the Advance
 * returns or throws. A mark found at start means the process died while advancing that run; after
 * MAX_CRASHES such deaths in a row, the run is aborted (it fails with `RunCrashedHost`) instead of
 * being advanced once more, so the server comes up. The writes are synchronous and small: a kill -9
 * right after one still finds it in the page cache.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorInfo } from '../../shared/errors.js';

/** Deaths while advancing the same run, in a row, after which the run is aborted. */
export const MAX_CRASHES = 3;

interface Marks {
  /** Runs being advanced now, by how many Advances are under way for each. */
  in_flight: Record<string, number>;
  /** Runs whose Advance the process died in, by how many times in a row. */
  crashes: Record<string, number>;
}

export class CrashGuard {
  readonly #file: string;
  readonly #marks: Marks;

  private constructor(file: string, marks: Marks) {
    this.#file = file;
    this.#marks = marks;
  }

  /** Reads the marks a previous process left: each run still in flight counts one more crash. */
  static open(dataDir: string): CrashGuard {
    const file = join(dataDir, 'advancing.json');
    const found = read(file);
    const crashes = { ...found.crashes };
    for (const runId of Object.keys(found.in_flight)) crashes[runId] = (crashes[runId] ?? 0) + 1;
    const guard = new CrashGuard(file, { in_flight: {}, crashes });
    guard.#write();
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
    this.#write();
    try {
      return await advance();
    } finally {
      const left = (marks.in_flight[runId] ?? 1) - 1;
      if (left > 0) marks.in_flight[runId] = left;
      else delete marks.in_flight[runId];
      delete marks.crashes[runId];
      this.#write();
    }
  }

  #write(): void {
    const temporary = `${this.#file}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.#marks));
    renameSync(temporary, this.#file);
  }
}

function read(file: string): Marks {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Marks>;
    return { in_flight: parsed.in_flight ?? {}, crashes: parsed.crashes ?? {} };
  } catch (error) {
    // No file yet (a new data directory), or one cut short: nothing was in flight that we know of.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) {
      return { in_flight: {}, crashes: {} };
    }
    throw error;
  }
}
