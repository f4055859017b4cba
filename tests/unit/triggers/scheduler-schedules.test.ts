/**
 * Schedules on EventBridge Scheduler, with aws-sdk-client-mock: the exact CreateSchedule a listener
 * makes, the idempotent upsert (create, else update, else create again), removal that tolerates a
 * missing schedule, and each service error as a typed Flowrunner error.
 */
import {
  ConflictException,
  CreateScheduleCommand,
  DeleteScheduleCommand,
  InternalServerException,
  ResourceNotFoundException,
  SchedulerClient,
  SchedulerServiceException,
  ServiceQuotaExceededException,
  ThrottlingException,
  UpdateScheduleCommand,
  ValidationException,
} from '@aws-sdk/client-scheduler';
import { describe, expect, it } from 'vitest';
import { createSchedulerSchedules } from '../../../shared/adapters/scheduler.js';
import { ConfigurationError, ThrottledError, ValidationError } from '../../../shared/errors.js';
import type { Listener } from '../../../shared/ports/storage.js';
import { deliveriesFromEvent } from '../../../shared/triggers/trigger-events.js';
import { failure } from '../../support/failure.js';
import { awsServiceException, mockAwsClient } from '../../support/sdk-errors.js';

const TARGET = 'arn:aws:lambda:eu-west-1:123456789012:function:flowrunner-trigger';
const ROLE = 'arn:aws:iam::123456789012:role/flowrunner-scheduler';
const DLQ = 'arn:aws:sqs:eu-west-1:123456789012:flowrunner-trigger-dlq';

/** Scheduler's modelled exceptions carry their message twice (`Message` is the wire field). */
function schedulerError<E>(
  Exception: new (options: { message: string; Message: string; $metadata: { httpStatusCode: number } }) => E,
  message: string,
  status: number,
): E {
  return new Exception({ message, Message: message, $metadata: { httpStatusCode: status } });
}

function setup() {
  const { client, mock } = mockAwsClient(SchedulerClient);
  const schedules = createSchedulerSchedules({
    client,
    groupName: 'flowrunner-listeners',
    targetArn: TARGET,
    roleArn: ROLE,
    deadLetterQueueArn: DLQ,
  });
  return { mock, schedules };
}

const listener = (match: Record<string, unknown>, extra: Partial<Listener> = {}): Listener => ({
  id: 'nightly-crm-sync',
  type: 'schedule',
  workflow_id: 'crm-sync',
  match,
  enabled: true,
  created_at: '2026-11-22T06:00:00.000Z',
  updated_at: '2026-11-22T06:00:00.000Z',
  fired: 0,
  skipped: 0,
  failed: 0,
  ...extra,
});

const names = (mock: ReturnType<typeof setup>['mock']) =>
  mock.calls().map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name);

describe('createSchedulerSchedules', () => {
  it('creates the schedule of a cron listener: its expression and time zone, exact time, retries, DLQ, the trigger function', async () => {
    const { mock, schedules } = setup();
    mock.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:x' });

    await schedules.upsert(listener({ expression: 'cron(0 6 * * ? *)', timezone: 'Europe/Paris' }));

    const [call] = mock.commandCalls(CreateScheduleCommand);
    const { Target, ...schedule } = call!.args[0].input;
    expect(schedule).toEqual({
      Name: 'nightly-crm-sync',
      GroupName: 'flowrunner-listeners',
      Description: 'Flowrunner listener nightly-crm-sync: starts workflow crm-sync',
      ScheduleExpression: 'cron(0 6 * * ? *)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      ActionAfterCompletion: 'NONE',
    });
    expect(Target).toEqual({
      Arn: TARGET,
      RoleArn: ROLE,
      Input: expect.any(String),
      RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 20 },
      DeadLetterConfig: { Arn: DLQ },
    });
    // What Scheduler will send, once it fills in its context attributes, is a fire of this listener.
    const fired = Target!.Input!.replace(/<aws\.scheduler\.scheduled-time>/, '2026-11-23T05:00:00Z');
    expect(deliveriesFromEvent(JSON.parse(fired))).toEqual([
      {
        type: 'schedule',
        event_id: '2026-11-23T05:00:00.000Z',
        listener_id: 'nightly-crm-sync',
        scheduled_time: '2026-11-23T05:00:00.000Z',
      },
    ]);
  });

  it('deletes an at() schedule after it fired, and defaults the time zone to UTC', async () => {
    const { mock, schedules } = setup();
    mock.on(CreateScheduleCommand).resolves({});
    await schedules.upsert(
      listener({ expression: 'at(2026-12-01T09:30:00)' }, { next_fire_at: '2026-12-01T09:30:00.000Z' }),
    );
    expect(mock.commandCalls(CreateScheduleCommand)[0]!.args[0].input).toMatchObject({
      ScheduleExpression: 'at(2026-12-01T09:30:00)',
      ScheduleExpressionTimezone: 'UTC',
      ActionAfterCompletion: 'DELETE',
    });
  });

  it('updates the schedule when it exists already (the same listener saved twice)', async () => {
    const { mock, schedules } = setup();
    mock.on(CreateScheduleCommand).rejects(schedulerError(ConflictException, 'exists', 409));
    mock.on(UpdateScheduleCommand).resolves({});

    await schedules.upsert(listener({ expression: 'rate(5 minutes)' }));

    expect(names(mock)).toEqual(['CreateScheduleCommand', 'UpdateScheduleCommand']);
    expect(mock.commandCalls(UpdateScheduleCommand)[0]!.args[0].input).toEqual(
      mock.commandCalls(CreateScheduleCommand)[0]!.args[0].input,
    );
  });

  it('creates it again when it vanished between the refused create and the update', async () => {
    const { mock, schedules } = setup();
    mock
      .on(CreateScheduleCommand)
      .rejectsOnce(schedulerError(ConflictException, 'exists', 409))
      .resolves({});
    mock.on(UpdateScheduleCommand).rejects(schedulerError(ResourceNotFoundException, 'gone', 404));

    await schedules.upsert(listener({ expression: 'rate(1 hour)' }));

    expect(names(mock)).toEqual(['CreateScheduleCommand', 'UpdateScheduleCommand', 'CreateScheduleCommand']);
  });

  it('gives up after four tries when a create and a delete keep racing', async () => {
    const { mock, schedules } = setup();
    mock.on(CreateScheduleCommand).rejects(schedulerError(ConflictException, 'exists', 409));
    mock.on(UpdateScheduleCommand).rejects(schedulerError(ResourceNotFoundException, 'gone', 404));

    const error = await failure(schedules.upsert(listener({ expression: 'rate(1 hour)' })));
    expect(mock.calls()).toHaveLength(4);
    expect(error.code).toBe('SchedulerUnavailable');
  });

  it('removes the schedule of a disabled listener instead of creating one', async () => {
    const { mock, schedules } = setup();
    mock.on(DeleteScheduleCommand).resolves({});
    await schedules.upsert(listener({ expression: 'rate(1 hour)' }, { enabled: false }));
    expect(names(mock)).toEqual(['DeleteScheduleCommand']);
    expect(mock.commandCalls(DeleteScheduleCommand)[0]!.args[0].input).toEqual({
      Name: 'nightly-crm-sync',
      GroupName: 'flowrunner-listeners',
    });
  });

  it('removes, rather than creates, the schedule of an at() whose time has passed (no next fire)', async () => {
    const { mock, schedules } = setup();
    mock.on(DeleteScheduleCommand).resolves({});
    await schedules.upsert(listener({ expression: 'at(2020-01-01T00:00:00)' }));
    expect(names(mock)).toEqual(['DeleteScheduleCommand']);
  });

  it('removes a schedule, and answers quietly when there is none', async () => {
    const { mock, schedules } = setup();
    mock.on(DeleteScheduleCommand).rejects(schedulerError(ResourceNotFoundException, 'none', 404));
    await expect(schedules.remove('nightly-crm-sync')).resolves.toBeUndefined();
  });

  it.each<[string, Error, new (...args: never[]) => Error, string, boolean]>([
    [
      'Scheduler refuses the expression',
      schedulerError(ValidationException, 'Invalid Schedule Expression', 400),
      ValidationError,
      'ValidationError',
      false,
    ],
    [
      'the role may not create schedules',
      awsServiceException(SchedulerServiceException, 'AccessDeniedException', 403, 'denied'),
      ConfigurationError,
      'SchedulerAccessDenied',
      false,
    ],
    [
      'the account has too many schedules',
      schedulerError(ServiceQuotaExceededException, 'quota', 402),
      ConfigurationError,
      'SchedulerQuotaExceeded',
      false,
    ],
    [
      'Scheduler throttles',
      schedulerError(ThrottlingException, 'slow down', 429),
      ThrottledError,
      'Throttled',
      true,
    ],
    [
      'Scheduler fails inside',
      schedulerError(InternalServerException, 'oops', 500),
      ThrottledError,
      'Throttled',
      true,
    ],
  ])('maps it to a typed error when %s', async (_, rejection, type, code, retryable) => {
    const { mock, schedules } = setup();
    mock.on(CreateScheduleCommand).rejects(rejection);
    const error = await failure(schedules.upsert(listener({ expression: 'rate(1 hour)' })), type as never);
    expect(error).toMatchObject({ code, retryable, details: { listener_id: 'nightly-crm-sync' } });
  });

  it('refuses, without a call, a listener that is not a schedule, has no expression, or whose id cannot name a schedule', async () => {
    const { mock, schedules } = setup();
    await failure(
      schedules.upsert(listener({ expression: 'rate(1 hour)' }, { type: 'webhook' })),
      ValidationError,
    );
    const noExpression = await failure(schedules.upsert(listener({ timezone: 'UTC' })), ValidationError);
    expect(noExpression.issues.map((i) => i.path)).toEqual(['match.expression']);
    const badCron = await failure(
      schedules.upsert(listener({ expression: 'cron(61 * * * ? *)' })),
      ValidationError,
    );
    expect(badCron.issues.map((i) => i.path)).toEqual(['match.expression']);
    await failure(schedules.upsert(listener({ expression: 'rate(1 hour)' }, { id: 'a/b' })), ValidationError);
    await failure(schedules.remove('x'.repeat(65)), ValidationError);
    expect(mock.calls()).toHaveLength(0);
  });
});
