/**
 * Triggers (CONTRACT §6): what a source hands the dispatcher, what the dispatcher answers, and the
 * two services whose cloud and local adapters differ (the scheduler and the event bus).
 *
 * One dispatcher, `deliverTrigger(deps, delivery)` in shared/orchestration/triggers.ts, serves every
 * host: the `trigger` Lambda (S3 via EventBridge, EventBridge rules, Scheduler), the API's
 * `POST /v1/hooks/{listener_id}`, and locally the S3 endpoint, the in-process bus and the scheduler loop.
 */
import type { Listener } from './storage.js';

/** An EventBridge event as AWS delivers it (the whole event is the run's `event`). */
export interface BusEvent {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

/**
 * One thing that happened, already parsed from its source's wire shape. `event_id` is the dedupe key
 * of CONTRACT §6: a run starts at most once per (listener, event_id).
 */
export type TriggerDelivery =
  | {
      type: 's3';
      /** Bucket, key and version id or sequencer. */
      event_id: string;
      bucket: string;
      key: string;
      size: number;
      etag?: string;
      version_id?: string;
    }
  | { type: 'eventbridge'; event_id: string; event: BusEvent }
  | { type: 'schedule'; event_id: string; listener_id: string; scheduled_time: string }
  | {
      type: 'webhook';
      /** The provider's delivery id, else a hash of the body. */
      event_id: string;
      listener_id: string;
      headers: Record<string, string>;
      body: unknown;
    };

/** What one listener did with a delivery. */
export interface TriggerOutcome {
  listener_id: string;
  /** started: a new run; duplicate: this (listener, event) started one before; skipped: overlap skip or disabled; failed: see error. */
  outcome: 'started' | 'duplicate' | 'skipped' | 'failed';
  run_id?: string;
  /** Why a fire failed (an input that does not fit the workflow's `inputs`, an unknown version...). */
  error?: { code: string; message: string };
}

/**
 * Keeps the clock that fires schedule listeners in step with the listener store: EventBridge Scheduler
 * schedules in the cloud, the scheduler loop locally. Called by the listeners API after each change.
 */
export interface Schedules {
  /** Creates or replaces the schedule of an enabled schedule listener (removes it when disabled). */
  upsert(listener: Listener): Promise<void>;
  /** Removes the schedule of a listener; no error when there is none. */
  remove(listenerId: string): Promise<void>;
}

export interface BusEntry {
  source: string;
  detail_type: string;
  detail: unknown;
  time?: string;
  id?: string;
}

/** The project's event bus behind `POST /v1/events`: PutEvents in the cloud, in process locally. */
export interface EventBus {
  /** Puts up to 10 entries; answers the event id of each, in order. */
  put(entries: readonly BusEntry[]): Promise<{ event_id: string }[]>;
}
