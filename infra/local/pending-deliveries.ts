/**
 * The trigger deliveries the local server accepted and has not carried out yet, kept in the data
 * directory (`pending-deliveries.log`, a LineJournal) so that a server killed in between carries
 * them out when it starts again. In the cloud the source keeps them: EventBridge retries a delivery
 * for up to a day. Locally an object put to the S3 endpoint was answered before its runs started,
 * and a kill in that window, or during the retries of a delivery the stores refused, lost it.
 *
 * `+<delivery as JSON>` when one is accepted, `-<"type event id" as JSON>` once it was carried out. Carrying
 * one out twice is harmless: the dispatcher starts a run once per listener and event id.
 */
import { join } from 'node:path';
import type { TriggerDelivery } from '../../shared/ports/index.js';
import { LineJournal } from './line-journal.js';

const LOG = 'pending-deliveries.log';

/** One delivery, however often it is accepted: its type and event id (the dispatcher's dedupe key). */
function keyOf(delivery: Pick<TriggerDelivery, 'type' | 'event_id'>): string {
  return `${delivery.type} ${delivery.event_id}`;
}

export class PendingDeliveries {
  /** Accepted and not carried out, by key (one carried out is carried out for every acceptance of it). */
  readonly #pending = new Map<string, TriggerDelivery>();
  /** What a previous process left undone, as the file held it when opened. */
  readonly #leftover: TriggerDelivery[];
  readonly #log: LineJournal;

  /** Opens the journal; what a previous process left undone is `leftover()`. */
  constructor(dataDir: string) {
    const file = join(dataDir, LOG);
    for (const line of LineJournal.read(file)) {
      if (line.startsWith('+')) {
        let delivery: TriggerDelivery;
        try {
          delivery = JSON.parse(line.slice(1)) as TriggerDelivery;
        } catch {
          continue; // Not one this version wrote: nothing to deliver.
        }
        this.#pending.set(keyOf(delivery), delivery);
      } else if (line.startsWith('-')) {
        try {
          this.#pending.delete(JSON.parse(line.slice(1)) as string);
        } catch {
          // Not one this version wrote.
        }
      }
    }
    this.#leftover = [...this.#pending.values()];
    this.#log = new LineJournal(file, () =>
      [...this.#pending.values()].map((delivery) => `+${JSON.stringify(delivery)}`),
    );
  }

  /**
   * What a previous process accepted and did not carry out, as the file held it when opened: not
   * what this process accepted since, which is under way (a replay of it would race with it).
   */
  leftover(): TriggerDelivery[] {
    return this.#leftover;
  }

  /** Everything accepted and not carried out yet, by this process or a previous one. */
  pending(): TriggerDelivery[] {
    return [...this.#pending.values()];
  }

  /** Written before the acceptance is answered: from now on a restart carries it out. */
  accepted(delivery: TriggerDelivery): void {
    this.#pending.set(keyOf(delivery), delivery);
    this.#log.append(`+${JSON.stringify(delivery)}`);
  }

  /** It was carried out: a restart leaves it. */
  carriedOut(delivery: TriggerDelivery): void {
    const key = keyOf(delivery);
    if (!this.#pending.delete(key)) return;
    // As JSON: an event id may hold a line break (a bus entry's `id`, an S3 key).
    this.#log.append(`-${JSON.stringify(key)}`);
  }

  close(): void {
    this.#log.close();
  }
}
