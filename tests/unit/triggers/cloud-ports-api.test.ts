/**
 * The API with the cloud trigger adapters, as the API Lambda wires them (functions/api/trigger-ports.ts),
 * their SDK clients under aws-sdk-client-mock: what a caller sees of PutEvents and Scheduler answers —
 * the event ids, a 422 naming refused entries and the ids of those put, a 503 with Retry-After for a
 * throttle, a 422 for an `id` EventBridge cannot honour — and the schedule a listener makes.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  SchedulerClient,
  ThrottlingException,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { describe, expect, it } from 'vitest';
import { createEventBridgeBus } from '../../../shared/adapters/event-bus.js';
import { createSchedulerSchedules } from '../../../shared/adapters/scheduler.js';
import { mockAwsClient } from '../../support/sdk-errors.js';
import { setUp } from '../api/support.js';

const entry = { source: 'app.shop', detail_type: 'Order Placed', detail: { order_id: 'o-1', total: 250 } };

async function cloudApi() {
  const events = mockAwsClient(EventBridgeClient);
  const scheduler = mockAwsClient(SchedulerClient);
  const t = await setUp({
    bus: createEventBridgeBus({ client: events.client, eventBusName: 'flowrunner-events' }),
    schedules: createSchedulerSchedules({
      client: scheduler.client,
      groupName: 'flowrunner-listeners',
      targetArn: 'arn:aws:lambda:eu-west-1:123456789012:function:trigger',
      roleArn: 'arn:aws:iam::123456789012:role/scheduler',
      deadLetterQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:dead-letters',
    }),
  });
  return { ...t, events: events.mock, scheduler: scheduler.mock };
}

describe('POST /v1/events on EventBridge', () => {
  it('answers the ids EventBridge gave', async () => {
    const t = await cloudApi();
    t.events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'eb-1' }] });
    const answer = await t.call('POST', '/v1/events', { body: { entries: [entry] } });
    expect(answer).toMatchObject({ status: 200, body: { entries: [{ event_id: 'eb-1' }] } });
  });

  it('names the entries EventBridge refused (422) and the ids of those it put', async () => {
    const t = await cloudApi();
    t.events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'eb-1' }, { ErrorCode: 'InvalidArgument', ErrorMessage: 'Detail too deep' }],
    });
    const answer = await t.call('POST', '/v1/events', { body: { entries: [entry, entry] } });
    expect(answer.status).toBe(422);
    expect(answer.body.errors).toEqual([{ path: 'entries.1', message: 'InvalidArgument (Detail too deep)' }]);
    expect(answer.body.detail).toContain('put: entries.0 as eb-1');
  });

  it('answers 503 with Retry-After when EventBridge throttles every refused entry', async () => {
    const t = await cloudApi();
    t.events.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
    });
    const answer = await t.call('POST', '/v1/events', { body: { entries: [entry] } });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
  });

  it('carries an id of the caller to the trigger function and answers it as the event id', async () => {
    const t = await cloudApi();
    t.events.on(PutEventsCommand).resolves({ Entries: [{ EventId: 'eb-1' }, { EventId: 'eb-2' }] });
    const answer = await t.call('POST', '/v1/events', {
      body: { entries: [entry, { ...entry, id: 'mine' }] },
    });
    expect(answer).toMatchObject({
      status: 200,
      body: { entries: [{ event_id: 'eb-1' }, { event_id: 'mine' }] },
    });
    const [plain, carried] = t.events.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries!;
    expect(plain!.Resources).toBeUndefined();
    expect(carried!.Resources).toEqual(['flowrunner:event-id:mine']);
  });
});

/** The workflow the schedule listeners start: one step. */
async function createBeat(t: Awaited<ReturnType<typeof cloudApi>>) {
  const created = await t.call('POST', '/v1/workflows', {
    body: {
      schema_version: '1.0',
      id: 'beat',
      steps: [{ id: 'ok', type: 'transform', config: { output: 1 } }],
    },
  });
  expect(created.status).toBe(201);
}

describe('schedule listeners on EventBridge Scheduler', () => {
  it('creates the schedule of a new listener, updates it on a change, deletes it with the listener', async () => {
    const t = await cloudApi();
    t.scheduler.on(CreateScheduleCommand).resolves({});
    t.scheduler.on(UpdateScheduleCommand).resolves({});
    t.scheduler.on(DeleteScheduleCommand).resolves({});
    await createBeat(t);
    const created = await t.call('POST', '/v1/listeners', {
      body: { id: 'beat', type: 'schedule', workflow_id: 'beat', match: { expression: 'rate(5 minutes)' } },
    });
    expect(created.status).toBe(201);
    expect(t.scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input).toMatchObject({
      Name: 'beat',
      GroupName: 'flowrunner-listeners',
      ScheduleExpression: 'rate(5 minutes)',
    });
    // Scheduler throttles the change: 503, the listener changed but not its schedule, which the same
    // PATCH again writes (docs/deploy.md).
    t.scheduler.on(CreateScheduleCommand).rejects(
      new ThrottlingException({
        message: 'slow down',
        Message: 'slow down',
        $metadata: { httpStatusCode: 429 },
      }),
    );
    const throttled = await t.call('PATCH', '/v1/listeners/beat', {
      body: { match: { expression: 'rate(10 minutes)' } },
    });
    expect(throttled.status).toBe(503);
    expect((await t.call('GET', '/v1/listeners/beat')).body.match.expression).toBe('rate(10 minutes)');
    t.scheduler.on(CreateScheduleCommand).resolves({});
    const again = await t.call('PATCH', '/v1/listeners/beat', {
      body: { match: { expression: 'rate(10 minutes)' } },
    });
    expect(again.status).toBe(200);
    expect(t.scheduler.commandCalls(CreateScheduleCommand).at(-1)!.args[0].input.ScheduleExpression).toBe(
      'rate(10 minutes)',
    );
    expect((await t.call('DELETE', '/v1/listeners/beat')).status).toBe(204);
    expect(t.scheduler.commandCalls(DeleteScheduleCommand)[0]!.args[0].input).toEqual({
      Name: 'beat',
      GroupName: 'flowrunner-listeners',
    });
  });

  it('leaves no listener behind when Scheduler throttles its creation, so the same POST can be sent again', async () => {
    const t = await cloudApi();
    await createBeat(t);
    t.scheduler
      .on(CreateScheduleCommand)
      .rejectsOnce(
        new ThrottlingException({ message: 'slow', Message: 'slow', $metadata: { httpStatusCode: 429 } }),
      )
      .resolves({});
    const body = {
      id: 'beat',
      type: 'schedule',
      workflow_id: 'beat',
      match: { expression: 'rate(5 minutes)' },
    };
    expect((await t.call('POST', '/v1/listeners', { body })).status).toBe(503);
    expect((await t.call('GET', '/v1/listeners/beat')).status).toBe(404);
    expect((await t.call('POST', '/v1/listeners', { body })).status).toBe(201);
  });
});
