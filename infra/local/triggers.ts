/**
 * Triggers on one machine (CONTRACT §6), each feeding the one dispatcher (`deliverTrigger`) as its
 * cloud counterpart feeds the trigger function: the local S3's notifications (S3 → EventBridge), the
 * in-process event bus behind `POST /v1/events` (PutEvents), and a scheduler loop that fires schedule
 * listeners when their `next_fire_at` comes (EventBridge Scheduler). An object put to the local S3
 * is answered before its runs start, as in the cloud; `POST /v1/events` is answered once each of
 * its deliveries was tried. Both are kept in the data directory from their acceptance until they are
 * carried out (pending-deliveries.ts), as EventBridge keeps what it accepted: a kill loses none.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { logger } from '../../shared/adapters/logger.js';
import { deliverTrigger, type TriggerDeps } from '../../shared/orchestration/triggers.js';
import type {
  BusEntry,
  BusEvent,
  EventBus,
  Listener,
  Schedules,
  TriggerDelivery,
} from '../../shared/ports/index.js';
import type { S3NotificationEvent } from '../../shared/storage/local/s3rver.js';
import { LOCAL_BUCKET } from '../../shared/storage/local/stores.js';
import { type PutEventsEntry, putEventsEntries } from '../../shared/triggers/bus-entries.js';
import { nextFireOf } from '../../shared/triggers/listener-match.js';
import { deliveriesFromEvent, objectCreated } from '../../shared/triggers/trigger-events.js';
import { PendingDeliveries } from './pending-deliveries.js';

/** What a local event says it came from, as PutEvents fills in the account and region. */
const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'us-east-1';
/**
 * The loop re-reads the schedule listeners at least this often, so a listener written by another
 * process on the same stores (a CLI against the data directory) is picked up too.
 */
const RESCAN_MS = 60_000;
/** Waits before each retry of a delivery that failed (then it is given up, with a log line). */
const RETRY_DELAYS_MS = [500, 2_000, 8_000];
/** After a pass that fired, the next one waits this long: a fire that failed is retried, not spun on. */
const AFTER_FIRES_MS = 1_000;

export interface LocalTriggersOptions {
  deps: TriggerDeps;
  /** Subscribes to the local S3's notifications. */
  onS3Event: (listener: (event: S3NotificationEvent) => void) => void;
  /** Told of a delivery that failed (the host's trouble: a store down); default a log line. */
  onError?: (delivery: TriggerDelivery, error: unknown) => void;
  /**
   * Where the bus's and the S3 endpoint's deliveries are kept from their acceptance until they are
   * carried out, so that a restart after a kill carries them out (pending-deliveries.ts). Without
   * one (tests of this class alone), a kill loses them.
   */
  dataDir?: string;
}

export class LocalTriggers {
  readonly bus: EventBus;
  readonly schedules: Schedules;
  readonly #deps: TriggerDeps;
  readonly #onError: (delivery: TriggerDelivery, error: unknown) => void;
  /** Deliveries under way: `close()` waits for them before the stores stop. */
  readonly #inFlight = new Set<Promise<unknown>>();
  #timer: NodeJS.Timeout | undefined;
  /** The scheduler's pass under way, and whether another was asked for meanwhile. */
  #pass: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly #stop = new AbortController();
  readonly #pending: PendingDeliveries | undefined;

  constructor(options: LocalTriggersOptions) {
    this.#deps = options.deps;
    this.#pending = options.dataDir === undefined ? undefined : new PendingDeliveries(options.dataDir);
    this.#onError =
      options.onError ??
      ((delivery, error) =>
        logger.error('trigger delivery failed', {
          trigger_type: delivery.type,
          event_id: delivery.event_id,
          error: error instanceof Error ? error.message : String(error),
        }));
    this.bus = { put: async (entries) => this.#put(entries) };
    this.schedules = {
      // The loop reads listeners from the store (the API has already written next_fire_at): a change
      // only means "look again now".
      upsert: async () => this.#wake(),
      remove: async () => this.#wake(),
    };
    options.onS3Event((event) => this.#s3(event));
  }

  /**
   * Carries out the deliveries a killed process accepted and left undone, and starts the scheduler: a
   * schedule that came due while the server was down fires once now.
   */
  async start(): Promise<void> {
    // The process that claimed them is gone (claims made before this process started are orphaned,
    // OrchestratorDeps.claimsOrphanedBefore): a start it left half-way is finished now. What this
    // process accepted since is under way, and not replayed.
    for (const delivery of this.#pending?.leftover() ?? []) void this.#deliver(delivery);
    await this.#wake();
  }

  /** Stops the scheduler and waits for the deliveries under way. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stop.abort();
    clearTimeout(this.#timer);
    await this.#pass;
    await Promise.allSettled([...this.#inFlight]);
    this.#pending?.close();
  }

  /** Resolves when every delivery handed over so far has been dispatched (for tests). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * A delivery of the bus or the S3 endpoint: kept until it is carried out, as EventBridge keeps
   * what it accepted (a server killed before carries it out when it starts again), and handed over.
   */
  #accept(delivery: TriggerDelivery): { tried: Promise<void>; done: Promise<void> } {
    this.#pending?.accepted(delivery);
    return this.#deliver(delivery);
  }

  /**
   * Hands a delivery over: `tried` settles once its first try did (its retries go on after), `done`
   * once it was dispatched or given up.
   */
  #deliver(delivery: TriggerDelivery): { tried: Promise<void>; done: Promise<void> } {
    let told!: () => void;
    const tried = new Promise<void>((resolve) => {
      told = resolve;
    });
    const done = this.#dispatch(delivery, 0, told);
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
    return { tried, done };
  }

  /**
   * At least once, as EventBridge and Scheduler deliver: a delivery the host could not carry out (a
   * store that did not answer) is tried again; the dispatcher's claim makes a retry start only what
   * is missing. `tried` is told when the first try is over, whichever way.
   */
  async #dispatch(delivery: TriggerDelivery, attempt: number, tried?: () => void): Promise<void> {
    try {
      await deliverTrigger(this.#deps, delivery);
      this.#pending?.carriedOut(delivery);
      tried?.();
    } catch (error) {
      tried?.();
      const wait = RETRY_DELAYS_MS[attempt];
      if (wait === undefined || this.#closed) return this.#onError(delivery, error);
      // A close stops the wait: the delivery is given up here, and carried out at the next start
      // (pending-deliveries.ts), as EventBridge would redeliver it.
      const stopped = await sleep(wait, undefined, { signal: this.#stop.signal }).then(
        () => false,
        () => true,
      );
      if (stopped) return this.#onError(delivery, error);
      return this.#dispatch(delivery, attempt + 1);
    }
  }

  /**
   * PutEvents and the bus's rule in one: the entries are checked as the cloud bus checks them, and each
   * becomes the event EventBridge would deliver, read by the trigger function's own parser — so the
   * event id (a caller's `id`, else a new one) and the event a run sees are those of the cloud.
   */
  async #put(entries: readonly BusEntry[]): Promise<{ event_id: string }[]> {
    const now = this.#deps.clock.now();
    const deliveries = putEventsEntries(entries).map(
      (request) => deliveriesFromEvent(deliveredEvent(request, randomUUID(), now))[0]!,
    );
    // Answered once each delivery was tried, so that a caller sees the runs its events started.
    await Promise.all(deliveries.map((delivery) => this.#accept(delivery).tried));
    return deliveries.map((delivery) => ({ event_id: delivery.event_id }));
  }

  #s3(event: S3NotificationEvent): void {
    for (const record of event.Records ?? []) {
      const { bucket, object } = record.s3;
      // Deletes start nothing; the engine's own bucket (artifacts, large payloads) is not a source.
      if (!record.eventName.startsWith('ObjectCreated:') || bucket.name === LOCAL_BUCKET) continue;
      // The same function as the trigger function's, over what S3 → EventBridge would carry for this
      // write: the same dedupe key. s3rver hands the key as written (S3's own notifications URL-encode
      // it; EventBridge's do not), and keeps no versions, so the sequencer tells the writes apart.
      const delivery = objectCreated({
        bucket: bucket.name,
        key: object.key,
        size: object.size ?? 0,
        etag: object.eTag,
        versionId: object.versionId,
        sequencer: object.sequencer,
        fallbackId: undefined,
      });
      // Kept before the put is answered (s3rver tells of the object first).
      void this.#accept(delivery);
    }
  }

  /** Runs a scheduler pass now (or right after the one under way), then sleeps until the next fire. */
  async #wake(): Promise<void> {
    if (this.#closed) return;
    if (this.#pass) {
      this.#again = true;
      return this.#pass;
    }
    clearTimeout(this.#timer);
    this.#pass = this.#schedulerPass().finally(() => {
      this.#pass = undefined;
    });
    await this.#pass;
    if (this.#again) {
      this.#again = false;
      await this.#wake();
    }
  }

  /**
   * Fires every enabled schedule whose next_fire_at has come — once, however many fire times the
   * server slept through (the dispatcher then sets the next one after now) — gives a listener
   * without one its next_fire_at, and sets the timer for the earliest next fire.
   */
  async #schedulerPass(): Promise<void> {
    let earliest = Number.POSITIVE_INFINITY;
    try {
      const store = this.#deps.stores.listeners;
      const now = this.#deps.clock.now();
      const due: Listener[] = [];
      for (const listener of await store.find({ type: 'schedule' })) {
        if (!listener.enabled) continue;
        const next = listener.next_fire_at ?? nextFireOf(listener, now);
        if (next === undefined) continue;
        if (listener.next_fire_at === undefined) await store.setNextFire(listener.id, next);
        if (Date.parse(next) <= now.getTime()) due.push({ ...listener, next_fire_at: next });
        else earliest = Math.min(earliest, Date.parse(next));
      }
      await Promise.all(
        due.map(
          (listener) =>
            this.#deliver({
              type: 'schedule',
              event_id: listener.next_fire_at!,
              listener_id: listener.id,
              scheduled_time: listener.next_fire_at!,
            }).done,
        ),
      );
      // Each fire set its listener's next fire time (one that failed did not, and is tried again).
      if (due.length > 0) earliest = Math.min(earliest, now.getTime() + AFTER_FIRES_MS);
    } catch (error) {
      logger.error('scheduler pass failed', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    if (this.#closed) return;
    const wait = Math.min(Math.max(earliest - this.#deps.clock.now().getTime(), 0), RESCAN_MS);
    this.#timer = setTimeout(() => void this.#wake(), wait);
    this.#timer.unref();
  }
}

/**
 * The event EventBridge delivers to a rule's target for a PutEvents entry: its own id, the account and
 * region, the entry's time (else the put's) to the second in UTC, its resources, the detail parsed.
 */
function deliveredEvent(request: PutEventsEntry, id: string, now: Date): BusEvent {
  return {
    version: '0',
    id,
    'detail-type': request.DetailType,
    source: request.Source,
    account: LOCAL_ACCOUNT,
    time: (request.Time ?? now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: request.Resources ?? [],
    detail: JSON.parse(request.Detail) as unknown,
  };
}
