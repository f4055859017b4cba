/**
 * The project's bus on EventBridge, with aws-sdk-client-mock: the exact PutEvents, the limits checked
 * before any call (10 entries, 256 KB), and partial failures named entry by entry.
 */
import {
  EventBridgeClient,
  InternalException,
  PutEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { createEventBridgeBus } from '../../../shared/adapters/event-bus.js';
import { ThrottledError, ValidationError } from '../../../shared/errors.js';
import type { BusEntry } from '../../../shared/ports/triggers.js';
import { failure } from '../../support/failure.js';
import { awsException, mockAwsClient } from '../../support/sdk-errors.js';

function setup() {
  const { client, mock } = mockAwsClient(EventBridgeClient);
  return { mock, bus: createEventBridgeBus({ client, eventBusName: 'flowrunner-events' }) };
}

const entry = (n: number, extra: Partial<BusEntry> = {}): BusEntry => ({
  source: 'com.acme.shop',
  detail_type: 'OrderPlaced',
  detail: { order_id: `ord-${n}` },
  ...extra,
});

describe('createEventBridgeBus', () => {
  it('puts the entries on the project’s bus and answers their event ids in order', async () => {
    const { mock, bus } = setup();
    mock
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }, { EventId: 'e-2' }] });

    const ids = await bus.put([entry(1, { time: '2026-11-22T06:00:00Z' }), entry(2)]);

    expect(ids).toEqual([{ event_id: 'e-1' }, { event_id: 'e-2' }]);
    expect(mock.commandCalls(PutEventsCommand)[0]!.args[0].input).toEqual({
      Entries: [
        {
          EventBusName: 'flowrunner-events',
          Source: 'com.acme.shop',
          DetailType: 'OrderPlaced',
          Detail: '{"order_id":"ord-1"}',
          Time: new Date('2026-11-22T06:00:00Z'),
        },
        {
          EventBusName: 'flowrunner-events',
          Source: 'com.acme.shop',
          DetailType: 'OrderPlaced',
          Detail: '{"order_id":"ord-2"}',
        },
      ],
    });
  });

  it('carries a caller’s id in Resources, answers it as the event id, and counts it in the 256 KB', async () => {
    const { mock, bus } = setup();
    mock.on(PutEventsCommand).resolves({ Entries: [{ EventId: 'e-1' }, { EventId: 'e-2' }] });
    expect(await bus.put([entry(1, { id: 'order-1' }), entry(2)])).toEqual([
      { event_id: 'order-1' },
      { event_id: 'e-2' },
    ]);
    expect(mock.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]).toEqual({
      EventBusName: 'flowrunner-events',
      Source: 'com.acme.shop',
      DetailType: 'OrderPlaced',
      Detail: '{"order_id":"ord-1"}',
      Resources: ['flowrunner:event-id:order-1'],
    });

    // Among the entries put beside a refused one, a caller's id is the id named.
    mock.on(PutEventsCommand).resolves({ Entries: [{ EventId: 'e-1' }, { ErrorCode: 'InvalidArgument' }] });
    const partly = await failure(bus.put([entry(1, { id: 'order-1' }), entry(2)]), ValidationError);
    expect(partly.message).toContain('put: entries.0 as order-1');
    expect(partly.details).toEqual({
      entries: [{ event_id: 'order-1' }, { error_code: 'InvalidArgument', error_message: '' }],
    });

    // 5 bytes under the limit without the id; its resource (24 bytes) takes the entry over.
    mock.on(PutEventsCommand).resolves({ Entries: [{ EventId: 'e-1' }] });
    const detail = { big: 'x'.repeat(256 * 1024 - 34 - 5) };
    await expect(bus.put([entry(1, { detail })])).resolves.toEqual([{ event_id: 'e-1' }]);
    const over = await failure(bus.put([entry(1, { detail, id: 'mine' })]), ValidationError);
    expect(over.issues).toEqual([
      { path: 'entries', message: '1 entries of 262163 bytes exceed 262144 bytes' },
    ]);
  });

  it('sends nothing for no entries', async () => {
    const { mock, bus } = setup();
    expect(await bus.put([])).toEqual([]);
    expect(mock.calls()).toHaveLength(0);
  });

  it('names each refused entry by its path and keeps the ids of those put: 422 for what the entries hold, 503 when all may pass', async () => {
    const { mock, bus } = setup();
    mock.on(PutEventsCommand).resolves({
      FailedEntryCount: 2,
      Entries: [
        { EventId: 'e-1' },
        { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' },
        { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source' },
      ],
    });

    const error = await failure(
      bus.put([entry(1), entry(2), entry(3, { source: 'com.acme.other' })]),
      ValidationError,
    );

    expect(error.issues).toEqual([
      { path: 'entries.1', message: 'ThrottlingException (Rate exceeded)' },
      { path: 'entries.2', message: 'NotAuthorizedForSourceException (Not authorized for the source)' },
    ]);
    expect(error.message).toBe(
      'EventBridge refused 2 of 3 entries: entries.1: ThrottlingException (Rate exceeded); ' +
        'entries.2: NotAuthorizedForSourceException (Not authorized for the source); put: entries.0 as e-1',
    );
    expect(error.details).toEqual({
      entries: [
        { event_id: 'e-1' },
        { error_code: 'ThrottlingException', error_message: 'Rate exceeded' },
        { error_code: 'NotAuthorizedForSourceException', error_message: 'Not authorized for the source' },
      ],
    });

    mock.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure' }, { EventId: 'e-2' }],
    });
    const transient = await failure(bus.put([entry(1), entry(2)]), ThrottledError);
    expect(transient).toMatchObject({
      retryable: true,
      message: expect.stringContaining('put: entries.1 as e-2'),
    });
  });

  it('turns a failed call into a ThrottledError when the service may recover, and a plain error when not', async () => {
    const { mock, bus } = setup();
    mock.on(PutEventsCommand).rejects(awsException(InternalException, 'oops', 500));
    expect(await failure(bus.put([entry(1)]), ThrottledError)).toMatchObject({ retryable: true });
    mock.on(PutEventsCommand).rejects(awsException(ResourceNotFoundException, 'no such bus', 400));
    const missing = await failure(bus.put([entry(1)]));
    expect(missing).toMatchObject({ code: 'EventBusUnavailable', retryable: false });
    expect(missing).not.toBeInstanceOf(ThrottledError);
  });

  it('refuses, without a call, more than 10 entries, more than 256 KB, a time that is no date, and an aws. source', async () => {
    const { mock, bus } = setup();
    const tooMany = await failure(bus.put(Array.from({ length: 11 }, (_, n) => entry(n))), ValidationError);
    expect(tooMany.issues).toEqual([{ path: 'entries', message: 'has more than 10 entries' }]);

    const big = 'x'.repeat(64 * 1024);
    const tooBig = await failure(
      bus.put([0, 1, 2, 3].map((n) => entry(n, { detail: { big } }))),
      ValidationError,
    );
    expect(tooBig.message).toMatch(/PutEvents takes at most 256 KB/);
    // Just under the limit passes the check (multi-byte characters counted as their UTF-8 bytes).
    mock.on(PutEventsCommand).resolves({ Entries: [{ EventId: 'e' }] });
    await expect(bus.put([entry(1, { detail: { big: 'é'.repeat(120 * 1024) } })])).resolves.toHaveLength(1);
    const multiByte = await failure(
      bus.put([entry(1, { detail: { big: 'é'.repeat(130 * 1024) } })]),
      ValidationError,
    );
    expect(multiByte.issues[0]!.path).toBe('entries');

    const badTime = await failure(bus.put([entry(1), entry(2, { time: 'yesterday' })]), ValidationError);
    expect(badTime.issues).toEqual([
      { path: 'entries.1.time', message: 'must be an ISO-8601 date and time' },
    ]);

    const reserved = await failure(bus.put([entry(1, { source: 'aws.s3' })]), ValidationError);
    expect(reserved.issues).toEqual([
      { path: 'entries.0.source', message: 'must not start with "aws." (reserved for AWS)' },
    ]);
    expect(mock.commandCalls(PutEventsCommand)).toHaveLength(1);
  });
});
