/**
 * The project's event bus on AWS: `POST /v1/events` puts its entries with PutEvents, and the bus's rule
 * hands each event to the trigger function, which fires every matching `eventbridge` listener.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { FlowrunnerError, ThrottledError, ValidationError } from '../errors.js';
import type { BusEntry, EventBus } from '../ports/triggers.js';
import { awsFailure } from './aws-errors.js';

export interface EventBridgeBusOptions {
  client: EventBridgeClient;
  /** The project's bus (`<prefix>-events`), by name or ARN. */
  eventBusName: string;
}

/** PutEvents takes at most 10 entries of at most 256 KB together (EventBridge quotas). */
export const MAX_ENTRIES = 10;
export const MAX_PUT_BYTES = 256 * 1024;

/** Entry errors of PutEvents that may pass if the same entry is put again later. */
const TRANSIENT_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException']);

export function createEventBridgeBus(options: EventBridgeBusOptions): EventBus {
  const { client, eventBusName } = options;

  return {
    async put(entries) {
      if (entries.length === 0) return [];
      const request = entries.map((entry, index) => toRequestEntry(entry, index, eventBusName));
      checkSize(entries, request);
      let answer: PutEventsCommandOutput;
      try {
        answer = await client.send(new PutEventsCommand({ Entries: request }));
      } catch (error) {
        const failure = awsFailure(error);
        const message = `PutEvents on '${eventBusName}' failed: ${failure.name}`;
        const options = { cause: error, details: { error: failure.name } };
        // Throttled or down: the API answers 503 with Retry-After. Anything else (a bus that is not
        // there, a denied call) is the deployment's fault.
        if (failure.transient) throw new ThrottledError(message, options);
        throw new FlowrunnerError('EventBusUnavailable', message, options);
      }
      const results = answer.Entries ?? [];
      if (results.length !== entries.length) {
        throw new FlowrunnerError(
          'EventBusUnavailable',
          `PutEvents answered ${results.length} results for ${entries.length} entries`,
        );
      }
      if (results.every((result) => result.EventId)) {
        return results.map((result) => ({ event_id: result.EventId! }));
      }
      throw partlyRejected(results);
    },
  };
}

function toRequestEntry(entry: BusEntry, index: number, eventBusName: string): PutEventsRequestEntry {
  if (index >= MAX_ENTRIES) {
    throw new ValidationError(`PutEvents takes at most ${MAX_ENTRIES} entries`, [
      { path: 'entries', message: `has more than ${MAX_ENTRIES} entries` },
    ]);
  }
  if (entry.id !== undefined) {
    // EventBridge gives every event its own id; a caller's id has no place in PutEvents.
    throw new ValidationError('The event bus on AWS assigns event ids itself', [
      { path: `entries.${index}.id`, message: 'cannot be set on AWS: EventBridge assigns the event id' },
    ]);
  }
  const time = entry.time === undefined ? undefined : new Date(entry.time);
  if (time !== undefined && Number.isNaN(time.getTime())) {
    throw new ValidationError('An entry has a time that is not a date', [
      { path: `entries.${index}.time`, message: 'must be an ISO-8601 date and time' },
    ]);
  }
  return {
    EventBusName: eventBusName,
    Source: entry.source,
    DetailType: entry.detail_type,
    Detail: JSON.stringify(entry.detail ?? {}),
    ...(time ? { Time: time } : {}),
  };
}

/**
 * The size EventBridge counts for an entry ("Calculating PutEvents event entry size"): the UTF-8 bytes
 * of Source, DetailType and Detail, 14 bytes for a Time.
 */
function checkSize(entries: readonly BusEntry[], request: PutEventsRequestEntry[]): void {
  const encoder = new TextEncoder();
  const bytes = (text: string | undefined) => (text === undefined ? 0 : encoder.encode(text).length);
  let total = 0;
  request.forEach((entry) => {
    total += (entry.Time ? 14 : 0) + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
  });
  if (total > MAX_PUT_BYTES) {
    throw new ValidationError(`The entries are ${total} bytes together; PutEvents takes at most 256 KB`, [
      { path: 'entries', message: `${entries.length} entries of ${total} bytes exceed 262144 bytes` },
    ]);
  }
}

/**
 * Some entries were put and some refused: the error names each refused entry by its path and keeps the
 * ids of those put (they fire their listeners), so a caller puts again only what was refused. Refusals
 * that may pass (throttling) are a ThrottledError (503 and Retry-After from the API); others, what the
 * entries themselves hold, a ValidationError (422 with `entries.<i>`, the API's own paths).
 */
function partlyRejected(results: PutEventsResultEntry[]): FlowrunnerError {
  const refused = results.flatMap((result, index) =>
    result.EventId
      ? []
      : [{ index, code: result.ErrorCode ?? 'UnknownError', message: result.ErrorMessage ?? '' }],
  );
  const issues = refused.map((r) => ({
    path: `entries.${r.index}`,
    message: `${r.code}${r.message ? ` (${r.message})` : ''}`,
  }));
  const put = results.flatMap((result, index) =>
    result.EventId ? [`entries.${index} as ${result.EventId}`] : [],
  );
  const message =
    `EventBridge refused ${refused.length} of ${results.length} entries: ` +
    `${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}` +
    (put.length > 0 ? `; put: ${put.join(', ')}` : '');
  const details = {
    entries: results.map((result) =>
      result.EventId
        ? { event_id: result.EventId }
        : { error_code: result.ErrorCode ?? 'UnknownError', error_message: result.ErrorMessage ?? '' },
    ),
  };
  if (refused.every((r) => TRANSIENT_ENTRY_ERRORS.has(r.code)))
    return new ThrottledError(message, { details });
  return new ValidationError(message, issues, { details });
}
