/** RunTrees in memory: a count per root run. */

import type { RunTrees } from '../../ports/index.js';

export class MemoryRunTrees implements RunTrees {
  readonly #started = new Map<string, number>();

  async admit(rootRunId: string, limit: number): Promise<boolean> {
    const started = this.#started.get(rootRunId) ?? 0;
    if (started >= limit) return false;
    this.#started.set(rootRunId, started + 1);
    return true;
  }
}
