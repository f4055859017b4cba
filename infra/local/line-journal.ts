/**
 * A small journal in the data directory for what the local server must know after a kill -9: one
 * line per change, appended with a single synchronous write to a file kept open, so a kill right
 * after the write still finds it (in the page cache), at the cost of one system call. When the file
 * has grown past COMPACT_AFTER_BYTES (and past twice its last rewrite) it is rewritten as what it
 * means now (its owner's `snapshot`), through a temporary file and a rename, as it is when opened.
 */
import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';

/** The journal is rewritten with only what it means once it is this long. */
const COMPACT_AFTER_BYTES = 256 * 1024;

export class LineJournal {
  readonly #file: string;
  readonly #snapshot: () => string[];
  /** -1 once closed: a late append is dropped, never written to a descriptor reused by another file. */
  #fd: number;
  #bytes = 0;
  /** The size of the last rewrite: the file is rewritten again only once it has grown past twice that. */
  #rewritten = 0;

  /** Opens `file` for appending, rewritten first as `snapshot()` says (each line without its newline). */
  constructor(file: string, snapshot: () => string[]) {
    this.#file = file;
    this.#snapshot = snapshot;
    this.#fd = this.#rewrite();
  }

  /** The complete lines of `file` (none when there is no file); a line a kill cut short never counted. */
  static read(file: string): string[] {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return text.split('\n').slice(0, -1);
  }

  append(line: string): void {
    if (this.#fd === -1) return;
    this.#bytes += writeSync(this.#fd, `${line}\n`);
    // Past twice what the last rewrite held: a snapshot that is itself large is not rewritten on
    // every append.
    if (this.#bytes > Math.max(COMPACT_AFTER_BYTES, 2 * this.#rewritten)) {
      closeSync(this.#fd);
      this.#fd = this.#rewrite();
    }
  }

  /** Closes the file; what it holds stays for the next start. */
  close(): void {
    if (this.#fd === -1) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  #rewrite(): number {
    const text = this.#snapshot()
      .map((line) => `${line}\n`)
      .join('');
    const temporary = `${this.#file}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, this.#file);
    this.#bytes = Buffer.byteLength(text);
    this.#rewritten = this.#bytes;
    return openSync(this.#file, 'a');
  }
}
