/** The SignalInbox in memory: accepted once per signal id, numbered per run, drained in order, trimmed. */
import type { Signal } from '../../engine/types.js';
import type { InboxEntry, SignalInbox, SignalPutOptions } from '../../ports/index.js';
import { pageLimit } from '../paging.js';
import { checkSignalId, INBOX_READ_DEFAULT, INBOX_READ_MAX } from '../rules.js';
import { jsonCopy } from './json-copy.js';

interface RunInbox {
  /** The seq of entries[0]; entries are contiguous from there. */
  first_seq: number;
  last_seq: number;
  entries: InboxEntry[];
  /** Every signal id ever accepted for the run, trimmed entries included. */
  ids: Set<string>;
}

export class MemorySignalInbox implements SignalInbox {
  readonly #inboxes = new Map<string, RunInbox>();

  async put(runId: string, signalId: string, signal: Signal, now: Date, options: SignalPutOptions = {}) {
    checkSignalId(signalId);
    let inbox = this.#inboxes.get(runId);
    if (!inbox) {
      inbox = { first_seq: 1, last_seq: 0, entries: [], ids: new Set() };
      this.#inboxes.set(runId, inbox);
    }
    if (inbox.ids.has(signalId)) return { accepted: false };
    if (options.unless?.some((id) => inbox.ids.has(id))) return { accepted: false, blocked: true };
    inbox.ids.add(signalId);
    const seq = ++inbox.last_seq;
    inbox.entries.push({
      seq,
      signal: jsonCopy(signal),
      signal_id: signalId,
      received_at: now.toISOString(),
    });
    return { accepted: true, seq };
  }

  async read(runId: string, after: number, limit?: number): Promise<InboxEntry[]> {
    const count = pageLimit({ limit }, INBOX_READ_DEFAULT, INBOX_READ_MAX);
    const entries = this.#inboxes.get(runId)?.entries ?? [];
    return jsonCopy(entries.filter((e) => e.seq > after).slice(0, count));
  }

  async trim(runId: string, upTo: number): Promise<void> {
    const inbox = this.#inboxes.get(runId);
    if (!inbox) return;
    const drop = Math.min(upTo - inbox.first_seq + 1, inbox.entries.length);
    if (drop <= 0) return;
    inbox.entries.splice(0, drop);
    inbox.first_seq += drop;
  }
}
