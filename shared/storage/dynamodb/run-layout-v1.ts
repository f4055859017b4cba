/**
 * Runs stored by the previous layout (before delta commits): the whole state in the run item, the
 * latest transitions in a journal map on it (`j`), older ones in chunk items (`j#<seq>#<checkpoint>`).
 * `upgradeV1Run` moves one such run to the commit items of runs.ts: one commit item per transition
 * (its events and history rows), the latest one also holding the state as a snapshot; then the run
 * item drops its state and journal, and the chunks go.
 *
 * The order makes a crash at any point harmless: commit items are written with the content the old
 * layout already names (writing one twice changes nothing), and the run item keeps its state until
 * every commit item is there, so a run that was half moved is moved again from the start.
 */
import { StorageError } from '../../errors.js';
import { type Item, N, number, S, string, stringList, stringMap, textBytes } from './attributes.js';
import { commitSortKey, runKey as runItemKey } from './run-keys.js';
import type { Table } from './table.js';

const CHUNK_PREFIX = 'j#';
/** Commit items written at once while moving a run. */
const WRITES_AT_ONCE = 8;
/** A run that old-layout code keeps committing to while it is moved is tried this often. */
const ATTEMPTS = 5;

/** One transition as the old layout stored it (JSON text). */
interface V1Entry {
  c: number;
  s: number;
  f: number;
  p: unknown;
}

/** Whether a run item is in the previous layout (it holds the state itself). */
export function isV1RunItem(item: Item): boolean {
  return item.state !== undefined;
}

export async function upgradeV1Run(table: Table, runId: string): Promise<void> {
  const runKey = runItemKey(runId);
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const run = await table.get(runKey);
    if (!run || !isV1RunItem(run)) return;
    const checkpoint = number(run, 'checkpoint');
    const chunks = await table.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': S(runId), ':prefix': S(CHUNK_PREFIX) },
      ConsistentRead: true,
    });
    const entries = new Map<number, V1Entry>();
    for (const text of [
      ...chunks.flatMap((chunk) => stringList(chunk, 'entries')),
      ...stringMap(run, 'j').values(),
    ]) {
      const entry = JSON.parse(text) as V1Entry;
      entries.set(entry.c, entry);
    }
    // The journal always holds the transition of the stored checkpoint; should it not, the state
    // still becomes a snapshot, with no events of its own.
    if (!entries.has(checkpoint)) {
      const seq = number(run, 'seq');
      entries.set(checkpoint, { c: checkpoint, s: seq, f: seq + 1, p: { e: [], h: [] } });
    }
    const stateText = string(run, 'state');
    const completions = (JSON.parse(stateText) as { completions?: unknown[] }).completions?.length;
    const items = [...entries.values()].map((entry): Item => {
      const latest = entry.c === checkpoint;
      return {
        pk: S(runId),
        sk: S(commitSortKey(entry.f - 1, entry.c)),
        c: N(entry.c),
        s: N(entry.s),
        i: N(latest ? Number(run.inbox_cursor?.N ?? 0) : 0),
        // Unknown when the whole state was a claim: the next commit then writes a snapshot.
        ...(latest && completions !== undefined ? { n: N(completions) } : {}),
        k: N(0),
        b: N(0),
        sb: N(textBytes(stateText)),
        log: S(JSON.stringify(entry.p)),
        ...(latest ? { state: S(stateText) } : {}),
      };
    });
    for (let i = 0; i < items.length; i += WRITES_AT_ONCE) {
      await Promise.all(items.slice(i, i + WRITES_AT_ONCE).map((Item) => table.put({ Item })));
    }
    const { applied } = await table.update({
      Key: runKey,
      UpdateExpression: 'REMOVE #state, j, seq, inbox_cursor',
      ConditionExpression: 'checkpoint = :checkpoint AND attribute_exists(#state)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':checkpoint': N(checkpoint) },
    });
    if (!applied) continue;
    // Every transition of the chunks is in a commit item now.
    for (const chunk of chunks) await table.delete({ Key: { pk: S(runId), sk: S(string(chunk, 'sk')) } });
    return;
  }
  throw new StorageError(
    'StorageConflict',
    `Run ${runId} kept changing while it was moved to the new storage layout; try again`,
    { retryable: true, details: { run_id: runId } },
  );
}
