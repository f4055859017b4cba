/**
 * What `POST /v1/events` puts on the project's bus, as the one PutEvents request entry both buses
 * handle (CONTRACT §6): the cloud bus sends it to EventBridge, the in-process bus delivers it as
 * EventBridge would. Both check it here, so an entry one bus refuses the other refuses the same way.
 *
 * A caller's `id` is the event's id, and so its dedupe key: a retried put starts at most one run per
 * listener, on one machine and in the cloud. PutEvents has no field for an id (EventBridge assigns
 * its own), so the id rides in `Resources` as `flowrunner:event-id:<id>`, the one field of the entry
 * that reaches the trigger function besides the caller's own `detail`, which stays untouched. The wire
 * parser (trigger-events.ts) reads it back with `callerEventId`, makes it the event's `id` and drops
 * it from `resources`, so a run sees the same event wherever it ran.
 */
import { ValidationError } from '../errors.js';
import type { BusEntry } from '../ports/triggers.js';

/** PutEvents takes at most 10 entries of at most 256 KB together (EventBridge quotas). */
export const MAX_ENTRIES = 10;
export const MAX_PUT_BYTES = 256 * 1024;

/** The prefix of the resource that carries a caller's event id. */
export const CALLER_ID_RESOURCE = 'flowrunner:event-id:';

/** A PutEvents request entry (the SDK's `PutEventsRequestEntry` without the bus, which the adapter adds). */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  /** JSON text of an object, as PutEvents takes it. */
  Detail: string;
  Resources?: string[];
  Time?: Date;
}

/**
 * The request entries for `entries`, checked as EventBridge checks them: at most 10, a `time` that is a
 * date, no `aws.` source (PutEvents refuses those: they are AWS's), 256 KB together. A ValidationError
 * names the path of each problem (`entries.<i>.time`, the API's own paths).
 */
export function putEventsEntries(entries: readonly BusEntry[]): PutEventsEntry[] {
  if (entries.length > MAX_ENTRIES) {
    throw new ValidationError(`PutEvents takes at most ${MAX_ENTRIES} entries`, [
      { path: 'entries', message: `has more than ${MAX_ENTRIES} entries` },
    ]);
  }
  const request = entries.map(toRequestEntry);
  checkSize(request);
  return request;
}

function toRequestEntry(entry: BusEntry, index: number): PutEventsEntry {
  if (entry.source.startsWith('aws.')) {
    throw new ValidationError('An entry has a source reserved for AWS', [
      { path: `entries.${index}.source`, message: 'must not start with "aws." (reserved for AWS)' },
    ]);
  }
  const time = entry.time === undefined ? undefined : new Date(entry.time);
  if (time !== undefined && Number.isNaN(time.getTime())) {
    throw new ValidationError('An entry has a time that is not a date', [
      { path: `entries.${index}.time`, message: 'must be an ISO-8601 date and time' },
    ]);
  }
  return {
    Source: entry.source,
    DetailType: entry.detail_type,
    Detail: JSON.stringify(entry.detail ?? {}),
    ...(entry.id === undefined ? {} : { Resources: [`${CALLER_ID_RESOURCE}${entry.id}`] }),
    ...(time ? { Time: time } : {}),
  };
}

/**
 * The size EventBridge counts for an entry ("Calculating PutEvents event entry size"): the UTF-8 bytes
 * of Source, DetailType, Detail and each resource, 14 bytes for a Time.
 */
function checkSize(request: readonly PutEventsEntry[]): void {
  const encoder = new TextEncoder();
  const bytes = (text: string) => encoder.encode(text).length;
  let total = 0;
  for (const entry of request) {
    total += (entry.Time ? 14 : 0) + bytes(entry.Source) + bytes(entry.DetailType) + bytes(entry.Detail);
    for (const resource of entry.Resources ?? []) total += bytes(resource);
  }
  if (total > MAX_PUT_BYTES) {
    throw new ValidationError(`The entries are ${total} bytes together; PutEvents takes at most 256 KB`, [
      {
        path: 'entries',
        message: `${request.length} entries of ${total} bytes exceed ${MAX_PUT_BYTES} bytes`,
      },
    ]);
  }
}

/**
 * The caller's event id an event's resources carry, and the resources without it; `id` is undefined
 * when they carry none. Two carriers, or an empty id, cannot come from `putEventsEntries`: a
 * ValidationError naming the resource, rather than a guess at which id deduplicates.
 */
export function callerEventId(resources: readonly string[]): { id?: string; resources: string[] } {
  const carriers = resources.flatMap((resource, index) =>
    resource.startsWith(CALLER_ID_RESOURCE) ? [index] : [],
  );
  if (carriers.length === 0) return { resources: [...resources] };
  const [index] = carriers;
  const id = resources[index!]!.slice(CALLER_ID_RESOURCE.length);
  if (carriers.length > 1 || id === '') {
    const at = carriers.length > 1 ? carriers[1]! : index!;
    throw new ValidationError('The event carries no single caller event id', [
      {
        path: `resources[${at}]`,
        message:
          carriers.length > 1
            ? 'is a second caller event id'
            : `names no event id after "${CALLER_ID_RESOURCE}"`,
      },
    ]);
  }
  return { id, resources: resources.filter((_, at) => at !== index) };
}
