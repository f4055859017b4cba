/**
 * The events the `trigger` function receives, as AWS delivers them, and the deliveries they become
 * (CONTRACT §6). One pure module, so the Lambda, `flowrunner invoke trigger` and the tests read the
 * wire shapes the same way:
 *
 * - an S3 "Object Created" event as EventBridge delivers it (the rule on the default bus);
 * - an S3 event notification (`{"Records": [...]}`, S3's own shape: what a bucket sends a function
 *   directly, and what S3-compatible servers emit);
 * - any other EventBridge event (the rule on the project's bus), whose id is the caller's when
 *   `POST /v1/events` was given one (bus-entries.ts);
 * - a schedule fire: the input EventBridge Scheduler sends, built by `scheduleTargetInput`;
 * - Lambda's record of a failed asynchronous invocation (what the dead-letter queue holds for a
 *   function error): the event it carries, so a dead letter can be sent back to the function as is.
 *
 * A malformed event is a ValidationError naming the path of each problem; nothing is delivered.
 */
import { z } from 'zod';
import { type ErrorIssue, ValidationError } from '../errors.js';
import type { BusEvent, TriggerDelivery } from '../ports/triggers.js';
import { callerEventId } from './bus-entries.js';

/**
 * What a listener id must be to name its schedule: EventBridge Scheduler's name rule
 * (`[0-9a-zA-Z-_.]+`, at most 64 characters). Ids the API makes and accepts all fit it.
 */
export const SCHEDULE_NAME = /^[0-9A-Za-z_.-]{1,64}$/;

/**
 * The input a schedule sends the trigger function: the listener, and Scheduler's context attributes,
 * which it replaces at each invocation. The scheduled time (not the time of the attempt) is the fire's
 * dedupe key, so a retried invocation, or a second attempt after a timeout, starts nothing new.
 */
export function scheduleTargetInput(listenerId: string): string {
  return JSON.stringify({
    listener_id: listenerId,
    scheduled_time: '<aws.scheduler.scheduled-time>',
    schedule_arn: '<aws.scheduler.schedule-arn>',
    execution_id: '<aws.scheduler.execution-id>',
    attempt_number: '<aws.scheduler.attempt-number>',
  });
}

const text = z.string().min(1);
const isoTime = z.iso.datetime({ offset: true });

/** The envelope of every EventBridge event; the whole event is a run's `event`, so extra fields stay. */
const busEvent = z.looseObject({
  version: z.string(),
  id: text.max(256),
  'detail-type': z.string().max(128),
  source: text.max(256),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  // PutEvents takes only a JSON object as Detail; AWS services send objects too.
  detail: z.record(z.string(), z.unknown()),
});

/** S3 → EventBridge "Object Created" (Amazon S3 User Guide, "EventBridge event message structure"). */
const s3ObjectCreated = z.looseObject({
  id: text,
  detail: z.looseObject({
    bucket: z.looseObject({ name: text }),
    object: z.looseObject({
      // Not URL-encoded in EventBridge events (unlike S3's own notifications).
      key: text,
      size: z.int().min(0),
      etag: z.string().optional(),
      'version-id': z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});

/** One record of an S3 event notification (Amazon S3 User Guide, "Event message structure"). */
const s3Record = z.looseObject({
  eventSource: z.literal('aws:s3'),
  eventName: text,
  s3: z.looseObject({
    bucket: z.looseObject({ name: text }),
    object: z.looseObject({
      // URL-encoded as a form value: "red flower.jpg" arrives as "red+flower.jpg".
      key: text,
      size: z.int().min(0).optional(),
      eTag: z.string().optional(),
      versionId: z.string().nullish(),
      sequencer: z.string().optional(),
    }),
  }),
});

const s3Notification = z.object({ Records: z.array(z.unknown()).max(1000) });

const scheduleFire = z.looseObject({
  listener_id: z.string().regex(SCHEDULE_NAME, 'must be a listener id (what names its schedule)'),
  scheduled_time: isoTime,
});

/** S3 "Object Created" events: the detail-type EventBridge gives them and the event names S3 gives them. */
const OBJECT_CREATED = 'Object Created';
const OBJECT_CREATED_RECORD = /^(s3:)?ObjectCreated:/;

/**
 * The deliveries one received event makes: none for an event that is not a trigger (an S3 object
 * removed, S3's test event), one for an EventBridge event or a schedule fire, one per created object of
 * an S3 notification. A malformed event throws a ValidationError and delivers nothing.
 */
export function deliveriesFromEvent(event: unknown): TriggerDelivery[] {
  if (!isObject(event)) throw malformed('The trigger event must be a JSON object', [], event);
  if ('requestPayload' in event && 'requestContext' in event) {
    const payload = event.requestPayload;
    // One level only: a record of a record is not something Lambda writes.
    if (isObject(payload) && 'requestPayload' in payload) {
      throw malformed('A failed-invocation record holds another record', [
        { path: 'requestPayload', message: 'is a record' },
      ]);
    }
    try {
      return deliveriesFromEvent(payload);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const issues = error.issues.map((i) => ({
        ...i,
        path: `requestPayload.${i.path}`.replace('.(root)', ''),
      }));
      throw malformed('The event of the failed-invocation record is not valid', issues);
    }
  }
  if ('Records' in event) return deliveriesFromS3Notification(event);
  // S3 sends this once when a notification is configured; it names no object.
  if (event.Event === 's3:TestEvent') return [];
  if ('listener_id' in event) return [deliveryFromScheduleFire(event)];
  if ('detail-type' in event || 'source' in event) return deliveriesFromBusEvent(event);
  throw malformed(
    'The trigger event is none of those the trigger function takes: an EventBridge event, an S3 event ' +
      'notification ({"Records": [...]}) or a schedule fire ({"listener_id", "scheduled_time"})',
    [],
    event,
  );
}

function deliveriesFromBusEvent(event: Record<string, unknown>): TriggerDelivery[] {
  const envelope = check(busEvent, event, 'EventBridge event');
  // EventBridge refuses PutEvents with an `aws.` source: an aws.s3 event comes from S3 itself.
  if (envelope.source !== 'aws.s3') {
    // The event as received (not zod's copy): the run sees exactly what EventBridge delivered, but for
    // a caller's event id (POST /v1/events `id`), which is its id as on one machine.
    const caller = callerEventId(envelope.resources);
    if (caller.id === undefined) {
      return [{ type: 'eventbridge', event_id: envelope.id, event: event as unknown as BusEvent }];
    }
    const delivered = { ...event, id: caller.id, resources: caller.resources } as unknown as BusEvent;
    return [{ type: 'eventbridge', event_id: caller.id, event: delivered }];
  }
  if (envelope['detail-type'] !== OBJECT_CREATED) return [];
  const { id, detail } = check(s3ObjectCreated, event, 'S3 Object Created event');
  const { bucket, object } = detail;
  return [
    objectCreated({
      bucket: bucket.name,
      key: object.key,
      size: object.size,
      etag: object.etag,
      versionId: object['version-id'],
      sequencer: object.sequencer,
      fallbackId: id,
    }),
  ];
}

function deliveriesFromS3Notification(event: Record<string, unknown>): TriggerDelivery[] {
  const { Records } = check(s3Notification, event, 'S3 event notification');
  const deliveries: TriggerDelivery[] = [];
  const issues: ErrorIssue[] = [];
  Records.forEach((candidate, index) => {
    const parsed = s3Record.safeParse(candidate);
    if (!parsed.success) {
      issues.push(...issuesOf(parsed.error, `Records[${index}]`));
      return;
    }
    const { eventName, s3 } = parsed.data;
    if (!OBJECT_CREATED_RECORD.test(eventName)) return;
    const key = decodeFormValue(s3.object.key);
    if (key === undefined) {
      issues.push({ path: `Records[${index}].s3.object.key`, message: 'is not a URL-encoded key' });
      return;
    }
    deliveries.push(
      objectCreated({
        bucket: s3.bucket.name,
        key,
        size: s3.object.size ?? 0,
        etag: s3.object.eTag,
        versionId: s3.object.versionId ?? undefined,
        sequencer: s3.object.sequencer,
        fallbackId: undefined,
      }),
    );
  });
  // One bad record fails the whole notification: half a batch started and half lost is worse than a
  // clear error with the notification kept (the function's failure destination holds it).
  if (issues.length > 0) throw malformed('The S3 event notification is not valid', issues, event);
  return deliveries;
}

function deliveryFromScheduleFire(event: Record<string, unknown>): TriggerDelivery {
  const fire = check(scheduleFire, event, 'schedule fire');
  // One spelling of an instant (`…:00.000Z`) whatever Scheduler sends: it is the dedupe key.
  const scheduledTime = new Date(fire.scheduled_time).toISOString();
  return {
    type: 'schedule',
    event_id: scheduledTime,
    listener_id: fire.listener_id,
    scheduled_time: scheduledTime,
  };
}

/** An object written, in the words of either S3 event shape (and of the local S3 endpoint). */
export interface S3ObjectCreated {
  bucket: string;
  /** As written: not URL-encoded. */
  key: string;
  size: number;
  etag: string | undefined;
  versionId: string | undefined;
  sequencer: string | undefined;
  /** The EventBridge event id, when the object event has neither a version id nor a sequencer. */
  fallbackId: string | undefined;
}

/**
 * The delivery of an object created: the one function behind both cloud shapes and the local S3
 * endpoint, so the same write has the same `event_id` (the dedupe key) and event wherever it lands.
 */
export function objectCreated(object: S3ObjectCreated): TriggerDelivery {
  const eventId = s3EventId(object);
  if (eventId === undefined) {
    throw malformed('The S3 event names no version id, sequencer or event id to tell it apart', [
      { path: 'object', message: 'has neither a version id nor a sequencer' },
    ]);
  }
  const versionId = usableVersionId(object.versionId);
  return {
    type: 's3',
    event_id: eventId,
    bucket: object.bucket,
    key: object.key,
    size: object.size,
    // S3 quotes ETags in HTTP headers, never in events; a quoted one (from an S3-compatible server) is unquoted.
    ...(object.etag ? { etag: object.etag.replace(/^"(.*)"$/, '$1') } : {}),
    ...(versionId ? { version_id: versionId } : {}),
  };
}

/**
 * The dedupe key of an object created (CONTRACT §6): `<bucket>/<key>?versionId=<id>` in a versioned
 * bucket, else `<bucket>/<key>?sequencer=<hex>`. Version ids and sequencers never hold `?`, so the last
 * `?` splits an id unambiguously whatever the key holds. The version id `null` (an object written while
 * versioning was suspended) names every such write alike, so it is passed over for the sequencer.
 */
export function s3EventId(object: {
  bucket: string;
  key: string;
  versionId?: string | undefined;
  sequencer?: string | undefined;
  fallbackId?: string | undefined;
}): string | undefined {
  const versionId = usableVersionId(object.versionId);
  if (versionId) return `${object.bucket}/${object.key}?versionId=${versionId}`;
  if (object.sequencer) return `${object.bucket}/${object.key}?sequencer=${object.sequencer}`;
  if (object.fallbackId) return `${object.bucket}/${object.key}?event=${object.fallbackId}`;
  return undefined;
}

function usableVersionId(versionId: string | undefined): string | undefined {
  return versionId && versionId !== 'null' ? versionId : undefined;
}

/** `application/x-www-form-urlencoded` decoding: `+` is a space; undefined for a broken `%` escape. */
function decodeFormValue(value: string): string | undefined {
  try {
    return decodeURIComponent(value.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

function check<T>(schema: z.ZodType<T>, event: unknown, what: string): T {
  const parsed = schema.safeParse(event);
  if (!parsed.success) throw malformed(`The ${what} is not valid`, issuesOf(parsed.error, ''), event);
  return parsed.data;
}

function issuesOf(error: z.ZodError, prefix: string): ErrorIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (at, part) =>
        typeof part === 'number' ? `${at}[${part}]` : at ? `${at}.${String(part)}` : String(part),
      prefix,
    );
    return { path: path || '(root)', message: issue.message };
  });
}

function malformed(message: string, issues: ErrorIssue[], event?: unknown): ValidationError {
  const detail = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  return new ValidationError(
    detail ? `${message}: ${detail}` : message,
    issues,
    event === undefined ? {} : { details: { received: describe(event) } },
  );
}

/** What was received, in a few words for the log: never the event itself, which may carry personal data. */
function describe(event: unknown): string {
  if (Array.isArray(event)) return 'an array';
  if (!isObject(event)) return event === null ? 'null' : `a ${typeof event}`;
  return `an object with ${Object.keys(event).slice(0, 10).join(', ') || 'no keys'}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
