/**
 * Keeps one run from taking the local server down again and again. Before each Advance its run is
 * marked in flight in a small log file of the data directory, and the mark is undone when the
 * Advance returns or throws. A mark found at start without its undo means the process died while
 * advancing that run; after MAX_CRASHES such deaths in a row, the run is aborted (it fails with
 * `RunCrashedHost`) instead of being advanced once more, so the server comes up.
 *
 * Only deaths the run may have caused count:
 * - A stop (SIGTERM, Ctrl-C) writes `~` first: what was in flight then was interrupted, not crashed,
 *   even if the stop ends in a forced exit. Three restarts failed a run whose call took 20 s.
 * - A run found in flight after a death (a suspect) is advanced alone until one of its Advances ends,
 *   within 10 s of the first suspect's start (all of them together): a kill -9 of a busy server found
 *   every run in flight, and three of them failed innocent runs. Alone, a death is the suspect's own.
 * Every run found in flight, for either reason, is advanced again at start (`interrupted`), also one
 * that had ended: its Advance may have died after the run's last commit and before its parent was
 * told, and the parent waited for ever.
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
/** How long after the first suspect's start runs found in flight after a death are advanced alone. */
export const ALONE_MS = 10_000;
const LOG = 'advancing.log';
/** The file an earlier version kept the same marks in, as JSON: read once, then removed. */
const LEGACY = 'advancing.json';

interface Marks {
  /** Runs being advanced now, by how many Advances are under way for each. */
  in_flight: Record<string, number>;
  /** Runs whose Advance the process died in, by how many times in a row. */
  crashes: Record<string, number>;
  /** The process was stopping (`~`): what was in flight was interrupted, not crashed. */
  stopped?: boolean;
  /**
   * Runs found in flight at a start and not advanced since (`?<id>`): kept in the log until one of
   * their Advances ends, so a process that dies again before it gets to them leaves them to the next.
   */
  pending: Set<string>;
}

export class CrashGuard {
  readonly #marks: Marks;
  readonly #log: LineJournal;
  /** Advances under way (marked in flight). */
  #running = 0;
  /** Set while a suspect's Advance waits to run, or runs, alone: the others wait for it. */
  #alone: Promise<void> | undefined;
  /** Wakes the suspect waiting for the Advances under way to end. */
  #drained: (() => void) | undefined;
  /** How long the suspects hold the others back, at most, all together. */
  readonly #aloneMs: number;
  /** When the suspects' window ends (set by the first). */
  #aloneUntil: number | undefined;

  private constructor(file: string, marks: Marks, aloneMs: number) {
    this.#marks = marks;
    this.#aloneMs = aloneMs;
    this.#log = new LineJournal(file, () => this.#lines());
  }

  /**
   * Reads the marks a previous process left: each run still in flight counts one more crash,
   * unless the process was stopping.
   */
  static open(dataDir: string, options: { aloneMs?: number } = {}): CrashGuard {
    const found = read(join(dataDir, LOG), join(dataDir, LEGACY));
    const crashes = { ...found.crashes };
    const interrupted = Object.keys(found.in_flight);
    if (!found.stopped) for (const runId of interrupted) crashes[runId] = (crashes[runId] ?? 0) + 1;
    const pending = new Set([...found.pending, ...interrupted]);
    const guard = new CrashGuard(
      join(dataDir, LOG),
      { in_flight: {}, crashes, pending },
      options.aloneMs ?? ALONE_MS,
    );
    rmSync(join(dataDir, LEGACY), { force: true });
    return guard;
  }

  /**
   * The runs a previous process left in flight, crashed or stopped, and not advanced since: each is
   * advanced again.
   */
  interrupted(): readonly string[] {
    return [...this.#marks.pending];
  }

  /** The process is stopping: what is in flight now, or starts later, is interrupted by the stop. */
  stopping(): void {
    this.#marks.stopped = true;
    this.#log.append('~');
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

  /**
   * Runs `advance` for a run with the run marked in flight; a normal end clears its crash count. A
   * suspect (a run in flight when the process died, since) runs alone: it waits for the Advances
   * under way, and the others wait for it.
   */
  async around<T>(runId: string, advance: () => Promise<T>): Promise<T> {
    while (this.#alone !== undefined) await this.#alone;
    if ((this.#marks.crashes[runId] ?? 0) === 0) return this.#marked(runId, advance);
    // One window for all the suspects, from the first: each in turn held every other run back, so
    // thirty-two of them could hold the server for minutes.
    this.#aloneUntil ??= Date.now() + this.#aloneMs;
    const left = this.#aloneUntil - Date.now();
    if (left <= 0) return this.#marked(runId, advance);
    let release!: () => void;
    const alone = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#alone = alone;
    // Alone for a while, not for ever: a run that crashes the process does it within seconds of its
    // start, and one waiting minutes for a model must not hold every other run that long.
    let timer: NodeJS.Timeout | undefined;
    const over = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, left);
      timer.unref();
    });
    const end = () => {
      clearTimeout(timer);
      if (this.#alone === alone) this.#alone = undefined;
      release();
    };
    void over.then(end);
    try {
      while (this.#running > 0 && this.#alone === alone) {
        await Promise.race([
          new Promise<void>((resolve) => {
            this.#drained = resolve;
          }),
          over,
        ]);
      }
      return await this.#marked(runId, advance);
    } finally {
      end();
    }
  }

  async #marked<T>(runId: string, advance: () => Promise<T>): Promise<T> {
    const marks = this.#marks;
    marks.in_flight[runId] = (marks.in_flight[runId] ?? 0) + 1;
    this.#running += 1;
    this.#log.append(`+${runId}`);
    try {
      return await advance();
    } finally {
      const left = (marks.in_flight[runId] ?? 1) - 1;
      if (left > 0) marks.in_flight[runId] = left;
      else delete marks.in_flight[runId];
      delete marks.crashes[runId];
      marks.pending.delete(runId);
      this.#log.append(`-${runId}`);
      this.#running -= 1;
      if (this.#running === 0 && this.#drained !== undefined) {
        const drained = this.#drained;
        this.#drained = undefined;
        drained();
      }
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
    for (const runId of this.#marks.pending) lines.push(`?${runId}`);
    // Kept through a compaction while stopping, or what is still in flight would count as crashed.
    if (this.#marks.stopped) lines.push('~');
    return lines;
  }
}

/** The marks of the log (and of an earlier version's JSON file, if one is left). */
function read(file: string, legacy: string): Marks {
  const marks: Marks = { in_flight: {}, crashes: {}, pending: new Set() };
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
      marks.pending.delete(runId);
    } else if (line.startsWith('?')) {
      marks.pending.add(runId);
    } else if (line === '~') {
      marks.stopped = true;
    } else if (line.startsWith('!')) {
      const [id, n] = runId.split(' ');
      if (id && Number(n) > 0) marks.crashes[id] = Number(n);
    }
  }
  return marks;
}
