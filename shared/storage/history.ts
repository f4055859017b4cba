/**
 * A run's history as the API shows it: one row per (step_id, visit), built by merging the patches
 * that transitions record, in the order the rows began (as the in-memory harness does).
 */
import type { StepExecution } from '../engine/types.js';

export class HistoryRows {
  readonly #rows = new Map<string, StepExecution>();

  /** Merges the patches of one transition; apply transitions in checkpoint order. */
  add(patches: readonly StepExecution[]): void {
    for (const patch of patches) {
      const key = `${patch.step_id}\u0000${patch.visit}`;
      const known = this.#rows.get(key);
      if (known) Object.assign(known, patch);
      else this.#rows.set(key, { ...patch });
    }
  }

  list(): StepExecution[] {
    return [...this.#rows.values()];
  }
}
