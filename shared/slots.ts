/**
 * At most `limit` pieces of work at once; the rest wait their turn, first come first served.
 *
 * - The local runtime's Advances (infra/local/runtime.ts), as a Lambda function's reserved
 *   concurrency bounds them in the cloud. Without a bound, a restart with thousands of runs in
 *   flight started an Advance for each at once: every one held its run's state and store requests
 *   in memory (GBs), and the API answered nothing until all were done.
 * - A claim check's blob requests (shared/storage/claim-check.ts).
 */
export class Slots {
  readonly #limit: number;
  #busy = 0;
  #peak = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a limit of ${limit} at once`);
    this.#limit = limit;
  }

  /** Work running now. */
  get busy(): number {
    return this.#busy;
  }

  /** The most work that ran at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Work waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `work` once a slot is free, and frees the slot when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#busy >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#busy += 1;
    this.#peak = Math.max(this.#peak, this.#busy);
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line (still busy), or is freed.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#busy -= 1;
    }
  }
}
