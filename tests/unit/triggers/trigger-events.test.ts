/**
 * The trigger function's wire shapes: every sample event of events/s3, events/eventbridge and
 * events/schedule becomes exactly the deliveries expected of it, and a malformed event is a
 * ValidationError with the path of each problem and no delivery.
 */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { projectPath } from '../../../infra/constructs/paths.js';
import { ValidationError } from '../../../shared/errors.js';
import type { TriggerDelivery } from '../../../shared/ports/triggers.js';
import {
  deliveriesFromEvent,
  s3EventId,
  scheduleTargetInput,
} from '../../../shared/triggers/trigger-events.js';

const sample = (file: string) =>
  JSON.parse(readFileSync(projectPath(`events/${file}`), 'utf8')) as Record<string, unknown>;

const EXPECTED: Record<string, TriggerDelivery[]> = {
  's3/object-created.json': [
    {
      type: 's3',
      event_id: 'inbox/incoming/2026/11/invoice-0042.json?versionId=096fKKXTRTtl3on89fVO.nfljtsv6qko',
      bucket: 'inbox',
      key: 'incoming/2026/11/invoice-0042.json',
      size: 1843,
      etag: '0f343b0931126a20f133d67c2b018a3b',
      version_id: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
    },
  ],
  's3/object-created-unversioned.json': [
    {
      type: 's3',
      event_id: 'inbox/incoming/2026/11/Invoice 0043 (Acme Co).pdf?sequencer=00621049BA9A8C712B',
      bucket: 'inbox',
      // EventBridge gives the key as it is: no URL decoding.
      key: 'incoming/2026/11/Invoice 0043 (Acme Co).pdf',
      size: 80704,
      etag: 'f31d8546bb67845b4d3048cde533b937',
    },
  ],
  's3/object-created-multipart.json': [
    {
      type: 's3',
      event_id: 'inbox/archive/2026-11-21.zip?versionId=uhggCJ2_B6gU2JaXWXebnXFDstO0ID6G',
      bucket: 'inbox',
      key: 'archive/2026-11-21.zip',
      size: 198524144,
      etag: '4af981f98d22a0b9979da24b259e5e42-12',
      version_id: 'uhggCJ2_B6gU2JaXWXebnXFDstO0ID6G',
    },
  ],
  's3/notification-records.json': [
    // The created object only (the second record removes one); its key URL-decoded as a form value.
    {
      type: 's3',
      event_id:
        'inbox/incoming/2026/11/Invoice 0044 (Acme Co).pdf?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
      bucket: 'inbox',
      key: 'incoming/2026/11/Invoice 0044 (Acme Co).pdf',
      size: 52210,
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      version_id: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
    },
  ],
  'eventbridge/custom-event.json': [
    {
      type: 'eventbridge',
      event_id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      event: sample('eventbridge/custom-event.json') as never,
    },
  ],
  'eventbridge/order-placed.json': [
    {
      type: 'eventbridge',
      event_id: '3e1b2c4d-9a8f-4e7d-b6c5-a4f3e2d1c0b9',
      event: sample('eventbridge/order-placed.json') as never,
    },
  ],
  // Put by POST /v1/events with `id`: the caller's id is the event's id, its carrier gone from resources.
  'eventbridge/put-with-id.json': [
    {
      type: 'eventbridge',
      event_id: 'ord-10043-placed',
      event: { ...sample('eventbridge/put-with-id.json'), id: 'ord-10043-placed', resources: [] } as never,
    },
  ],
  'schedule/fire.json': [
    {
      type: 'schedule',
      event_id: '2026-11-22T06:00:00.000Z',
      listener_id: 'heartbeat',
      scheduled_time: '2026-11-22T06:00:00.000Z',
    },
  ],
  // A retried attempt of the same fire: the same event id, so the dedupe starts nothing new.
  'schedule/fire-retry.json': [
    {
      type: 'schedule',
      event_id: '2026-11-22T06:00:00.000Z',
      listener_id: 'heartbeat',
      scheduled_time: '2026-11-22T06:00:00.000Z',
    },
  ],
  // A dead letter sent back as is: the fire it carries.
  'dead-letter/failed-invocation.json': [
    {
      type: 'schedule',
      event_id: '2026-11-22T06:01:00.000Z',
      listener_id: 'heartbeat',
      scheduled_time: '2026-11-22T06:01:00.000Z',
    },
  ],
  'schedule/at-fire.json': [
    {
      type: 'schedule',
      event_id: '2026-12-01T08:30:00.000Z',
      listener_id: 'launch-day',
      scheduled_time: '2026-12-01T08:30:00.000Z',
    },
  ],
};

const TRIGGER_SAMPLES = ['s3', 'eventbridge', 'schedule', 'dead-letter'].flatMap((folder) =>
  readdirSync(projectPath(`events/${folder}`))
    .filter((name) => name.endsWith('.json'))
    .map((name) => `${folder}/${name}`),
);

function failure(event: unknown): ValidationError {
  try {
    deliveriesFromEvent(event);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError, got deliveries');
}

describe('deliveriesFromEvent on the sample events', () => {
  it('has an expectation for every sample of the trigger sources', () => {
    expect(TRIGGER_SAMPLES.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(TRIGGER_SAMPLES)('%s', (file) => {
    expect(deliveriesFromEvent(sample(file))).toEqual(EXPECTED[file]);
  });

  it('hands an EventBridge event over as received, extra fields and odd keys included', () => {
    const event: Record<string, unknown> = {
      ...sample('eventbridge/order-placed.json'),
      'replay-name': 'replay-1',
    };
    const detail = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}') as Record<
      string,
      unknown
    >;
    event.detail = detail;
    const [delivery] = deliveriesFromEvent(event);
    expect(delivery).toMatchObject({ type: 'eventbridge' });
    expect((delivery as { event: unknown }).event).toBe(event);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('keys', () => {
  it('decodes an S3 notification key as a form value (+ is a space, %2B a plus), and leaves an EventBridge key as it is', () => {
    const notification = sample('s3/notification-records.json');
    const record = (notification.Records as { s3: { object: { key: string } } }[])[0]!;
    record.s3.object.key = 'in/a+b%2Bc%20d%2F%C3%A9.csv';
    expect(deliveriesFromEvent(notification)[0]).toMatchObject({ key: 'in/a b+c d/é.csv' });

    const event = sample('s3/object-created.json');
    (event.detail as { object: { key: string } }).object.key = 'in/a+b%2Bc.csv';
    expect(deliveriesFromEvent(event)[0]).toMatchObject({ key: 'in/a+b%2Bc.csv' });
  });
});

describe('events that start nothing', () => {
  it('ignores S3 events other than Object Created, and S3’s test event', () => {
    const deleted = sample('s3/object-created.json');
    deleted['detail-type'] = 'Object Deleted';
    expect(deliveriesFromEvent(deleted)).toEqual([]);
    expect(
      deliveriesFromEvent({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: '2026-11-22T06:00:00.000Z',
        Bucket: 'inbox',
        RequestId: '5582815E1AEA5ADF',
        HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
      }),
    ).toEqual([]);
    expect(deliveriesFromEvent({ Records: [] })).toEqual([]);
  });
});

describe('malformed events', () => {
  it.each<[string, unknown, RegExp]>([
    ['null', null, /must be a JSON object/],
    ['an array', [sample('eventbridge/custom-event.json')], /must be a JSON object/],
    ['a string', 'Object Created', /must be a JSON object/],
    ['an object of no known shape', { hello: 'world' }, /none of those the trigger function takes/],
  ])('refuses %s', (_, event, message) => {
    expect(failure(event).message).toMatch(message);
  });

  it('names each missing or wrong field of an EventBridge event by its path', () => {
    const event = sample('eventbridge/custom-event.json');
    delete event.id;
    event.detail = 'not an object';
    const error = failure(event);
    expect(error.issues.map((i) => i.path).sort()).toEqual(['detail', 'id']);
    expect(error.message).toMatch(/^The EventBridge event is not valid: /);
  });

  it('refuses an S3 Object Created event without a key or with a negative size', () => {
    const event = sample('s3/object-created.json');
    const object = (event.detail as { object: Record<string, unknown> }).object;
    delete object.key;
    object.size = -1;
    expect(
      failure(event)
        .issues.map((i) => i.path)
        .sort(),
    ).toEqual(['detail.object.key', 'detail.object.size']);
  });

  it('refuses a whole S3 notification when one record is bad, naming the record', () => {
    const notification = sample('s3/notification-records.json');
    const records = notification.Records as Record<string, unknown>[];
    records.push({ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: {} } });
    records.push({
      ...records[0],
      s3: { bucket: { name: 'b' }, object: { key: 'broken%E0%A4%A', sequencer: '01' } },
    });
    const error = failure(notification);
    expect(error.issues.map((i) => i.path)).toEqual([
      'Records[2].s3.bucket.name',
      'Records[2].s3.object',
      'Records[3].s3.object.key',
    ]);
  });

  it('refuses a failed-invocation record that wraps another one', () => {
    const record = sample('dead-letter/failed-invocation.json');
    const twice = { ...record, requestPayload: record };
    expect(failure(twice).issues.map((i) => i.path)).toEqual(['requestPayload']);
    const broken = { ...record, requestPayload: { listener_id: 'heartbeat', scheduled_time: 'soon' } };
    expect(failure(broken).issues.map((i) => i.path)).toEqual(['requestPayload.scheduled_time']);
  });

  it('refuses a schedule fire whose context attribute was not replaced, or whose listener id cannot name a schedule', () => {
    const unreplaced = JSON.parse(scheduleTargetInput('heartbeat')) as Record<string, unknown>;
    expect(failure(unreplaced).issues.map((i) => i.path)).toEqual(['scheduled_time']);
    const hostile = { ...sample('schedule/fire.json'), listener_id: '../other/listener' };
    expect(failure(hostile).issues.map((i) => i.path)).toEqual(['listener_id']);
    const long = { ...sample('schedule/fire.json'), listener_id: 'x'.repeat(65) };
    expect(failure(long).issues.map((i) => i.path)).toEqual(['listener_id']);
  });

  it('refuses an S3 notification of more than 1,000 records, and reads a detail 10,000 levels deep without recursing', () => {
    const record = (sample('s3/notification-records.json').Records as unknown[])[0];
    const error = failure({ Records: Array.from({ length: 1001 }, () => record) });
    expect(error.issues.map((i) => i.path)).toEqual(['Records']);

    let deep: Record<string, unknown> = { leaf: true };
    for (let level = 0; level < 10_000; level++) deep = { next: deep };
    const event = { ...sample('eventbridge/custom-event.json'), detail: deep };
    expect(deliveriesFromEvent(event)).toHaveLength(1);
  });

  it('refuses an event whose resources carry two caller ids, or an empty one, naming the resource', () => {
    const event = sample('eventbridge/put-with-id.json');
    const twice = {
      ...event,
      resources: ['arn:aws:s3:::inbox', ...(event.resources as string[]), 'flowrunner:event-id:b'],
    };
    expect(failure(twice).issues).toEqual([{ path: 'resources[2]', message: 'is a second caller event id' }]);
    const empty = { ...event, resources: ['arn:aws:s3:::inbox', 'flowrunner:event-id:'] };
    expect(failure(empty).issues).toEqual([
      { path: 'resources[1]', message: 'names no event id after "flowrunner:event-id:"' },
    ]);
    // The other resources stay, in their order.
    const beside = { ...event, resources: ['arn:a', 'flowrunner:event-id:x', 'arn:b'] };
    expect(deliveriesFromEvent(beside)).toMatchObject([
      { event_id: 'x', event: { id: 'x', resources: ['arn:a', 'arn:b'] } },
    ]);
  });

  it('never puts the event itself in the error (it may carry personal data)', () => {
    const event = sample('eventbridge/custom-event.json');
    delete event.source;
    delete event['detail-type'];
    event.account = 42;
    const error = failure(event);
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(
      'ada@acme.example',
    );
  });
});

describe('s3EventId', () => {
  it('prefers a version id, passes over the version id "null", then takes the sequencer', () => {
    const object = { bucket: 'b', key: 'k', sequencer: '0A' };
    expect(s3EventId({ ...object, versionId: 'v1' })).toBe('b/k?versionId=v1');
    expect(s3EventId({ ...object, versionId: 'null' })).toBe('b/k?sequencer=0A');
    expect(s3EventId({ bucket: 'b', key: 'k', fallbackId: 'e1' })).toBe('b/k?event=e1');
    expect(s3EventId({ bucket: 'b', key: 'k' })).toBeUndefined();
  });

  it('never gives two different objects the same id, whatever their keys hold', () => {
    const marker = fc.oneof(
      fc.record({ versionId: fc.stringMatching(/^[A-Za-z0-9._]{1,32}$/) }),
      fc.record({ sequencer: fc.stringMatching(/^[0-9A-F]{1,18}$/) }),
    );
    const object = fc.record({
      bucket: fc.stringMatching(/^[a-z0-9.-]{3,12}$/),
      key: fc.string({
        minLength: 1,
        maxLength: 20,
        unit: fc.constantFrom('a', '/', '?', '=', 'versionId', 'sequencer', ' '),
      }),
      marker,
    });
    fc.assert(
      fc.property(object, object, (a, b) => {
        const id = (o: typeof a) => s3EventId({ bucket: o.bucket, key: o.key, ...o.marker });
        const same =
          a.bucket === b.bucket && a.key === b.key && JSON.stringify(a.marker) === JSON.stringify(b.marker);
        return same || id(a) !== id(b);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('scheduleTargetInput', () => {
  it('carries the listener and every Scheduler context attribute, and parses once Scheduler fills them in', () => {
    const input = scheduleTargetInput('heartbeat');
    for (const attribute of ['scheduled-time', 'schedule-arn', 'execution-id', 'attempt-number']) {
      expect(input).toContain(`<aws.scheduler.${attribute}>`);
    }
    const fired = input
      .replace('<aws.scheduler.scheduled-time>', '2026-11-22T06:00:00Z')
      .replace(
        '<aws.scheduler.schedule-arn>',
        'arn:aws:scheduler:eu-west-1:123456789012:schedule/g/nightly-crm-sync',
      )
      .replace('<aws.scheduler.execution-id>', 'd32c5kddcf5bb8c3')
      .replace('<aws.scheduler.attempt-number>', '1');
    expect(deliveriesFromEvent(JSON.parse(fired))).toEqual(EXPECTED['schedule/fire.json']);
  });
});
