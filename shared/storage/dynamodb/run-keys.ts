/** The sort keys in a run's partition (see runs.ts and docs/storage.md). */
import { type Item, padded, S } from './attributes.js';

/** The run item: what lists and indexes read, and the task token. */
export const RUN = 'run';
/** Commit items: `c#<seq before the commit>#<its checkpoint>`, 12 digits each. */
export const COMMIT = 'c#';
/** Above every commit item and below the inbox and the run item. */
export const COMMIT_END = 'c#~';

export const runKey = (runId: string): Item => ({ pk: S(runId), sk: S(RUN) });

export const commitSortKey = (seqBefore: number, checkpoint: number): string =>
  `${COMMIT}${padded(seqBefore)}#${padded(checkpoint)}`;
