/**
 * A run's history as the API shows it: one row per (step_id, visit), built by merging the patches
 * that transitions record, in the order the rows began (as the in-memory harness does).
 */
import type { StepExecution } from '../engine/types.js';

export class HistoryRows {
  /** By step id, then visit: no key string built per patch. */
  readonly #rows = new Map<string, Map<number, StepExecution>>();
  readonly #order: StepExecution[] = [];

  /**
   * Merges the patches of one transition; apply transitions in checkpoint order. The rows take
   * the patches over: the first patch of a row becomes the row and later ones are merged into it,
   * so give patches nobody else changes (the stores give copies they made or decoded).
   */
  add(patches: readonly StepExecution[]): void {
    for (const patch of patches) {
      let visits = this.#rows.get(patch.step_id);
      if (visits === undefined) {
        visits = new Map();
        this.#rows.set(patch.step_id, visits);
      }
      const known = visits.get(patch.visit);
      if (known) {
        Object.assign(known, patch);
        // A row that ends well carries no error an earlier patch gave it (a failed attempt's).
        if (patch.error === undefined && (patch.status === 'completed' || patch.status === 'compensated')) {
          delete known.error;
        }
      } else {
        visits.set(patch.visit, patch);
        this.#order.push(patch);
      }
    }
  }

  list(): StepExecution[] {
    return [...this.#order];
  }
}
