/**
 * Schedules on AWS: one EventBridge Scheduler schedule per enabled schedule listener, named by the
 * listener's id in the stack's schedule group, invoking the trigger function with the listener's id and
 * the scheduled time (shared/triggers/trigger-events.ts). Scheduler keeps the clock, the time zone and
 * the retries; the trigger function's dedupe makes a repeated fire start nothing new.
 */
import {
  CreateScheduleCommand,
  type CreateScheduleInput,
  DeleteScheduleCommand,
  type SchedulerClient,
  UpdateScheduleCommand,
} from '@aws-sdk/client-scheduler';
import { ConfigurationError, FlowrunnerError, ThrottledError, ValidationError } from '../errors.js';
import type { Listener } from '../ports/storage.js';
import type { Schedules } from '../ports/triggers.js';
import { scheduleMatch } from '../triggers/listener-match.js';
import { SCHEDULE_NAME, scheduleTargetInput } from '../triggers/trigger-events.js';
import { awsFailure } from './aws-errors.js';

export interface SchedulerSchedulesOptions {
  client: SchedulerClient;
  /** The schedule group the stack made for the listeners (`<prefix>-listeners`). */
  groupName: string;
  /** The trigger function's ARN: every schedule invokes it. */
  targetArn: string;
  /** The role Scheduler assumes to invoke the trigger function (and nothing else). */
  roleArn: string;
  /** Where Scheduler puts a fire it could not deliver after its retries. */
  deadLetterQueueArn: string;
  /**
   * How long and how often Scheduler retries a fire it could not deliver (default one hour, 20 times)
   * before it goes to the dead-letter queue.
   */
  retry?: { maximumEventAgeS: number; maximumAttempts: number };
}

const DEFAULT_RETRY = { maximumEventAgeS: 3600, maximumAttempts: 20 };

export function createSchedulerSchedules(options: SchedulerSchedulesOptions): Schedules {
  const { client, groupName } = options;
  const retry = options.retry ?? DEFAULT_RETRY;

  function scheduleOf(listener: Listener): CreateScheduleInput {
    const match = scheduleMatch.safeParse(listener.match);
    if (!match.success) {
      throw new ValidationError(
        `Listener '${listener.id}' has no schedule EventBridge Scheduler can keep`,
        match.error.issues.map((i) => ({ path: ['match', ...i.path].join('.'), message: i.message })),
      );
    }
    const { expression, timezone } = match.data;
    return {
      Name: listener.id,
      GroupName: groupName,
      Description: `Flowrunner listener ${listener.id}: starts workflow ${listener.workflow_id}`.slice(
        0,
        512,
      ),
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: timezone ?? 'UTC',
      // Exactly at the time: a flexible window would move the scheduled time users see in the run.
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      // An at() schedule has nothing left to do once it fired; the listener itself stays (CONTRACT §6).
      ActionAfterCompletion: expression.startsWith('at(') ? 'DELETE' : 'NONE',
      Target: {
        Arn: options.targetArn,
        RoleArn: options.roleArn,
        Input: scheduleTargetInput(listener.id),
        RetryPolicy: {
          MaximumEventAgeInSeconds: retry.maximumEventAgeS,
          MaximumRetryAttempts: retry.maximumAttempts,
        },
        DeadLetterConfig: { Arn: options.deadLetterQueueArn },
      },
    };
  }

  async function send(command: 'create' | 'update', schedule: CreateScheduleInput): Promise<void> {
    await client.send(
      command === 'create' ? new CreateScheduleCommand(schedule) : new UpdateScheduleCommand(schedule),
    );
  }

  async function remove(listenerId: string): Promise<void> {
    checkName(listenerId);
    try {
      await client.send(new DeleteScheduleCommand({ Name: listenerId, GroupName: groupName }));
    } catch (error) {
      if (awsFailure(error).name === 'ResourceNotFoundException') return;
      throw toScheduleError(error, 'delete', listenerId);
    }
  }

  return {
    async upsert(listener) {
      checkName(listener.id);
      if (listener.type !== 'schedule') {
        throw new ValidationError(`Listener '${listener.id}' is a ${listener.type} listener, not a schedule`);
      }
      const schedule = scheduleOf(listener);
      // A disabled listener has no schedule; nor has an at() whose time has passed (the API found no
      // next fire): Scheduler would never fire it, and it would count against the account's quota.
      const spent = schedule.ScheduleExpression!.startsWith('at(') && listener.next_fire_at === undefined;
      if (!listener.enabled || spent) return remove(listener.id);
      // Create, else replace: whichever of two concurrent writers comes last wins, as with the listener
      // itself. A schedule deleted between a refused create and the update is created again (at most twice).
      let command: 'create' | 'update' = 'create';
      for (let attempt = 1; ; attempt++) {
        try {
          return await send(command, schedule);
        } catch (error) {
          const { name } = awsFailure(error);
          const next: 'create' | 'update' | undefined =
            command === 'create' && name === 'ConflictException'
              ? 'update'
              : command === 'update' && name === 'ResourceNotFoundException'
                ? 'create'
                : undefined;
          if (next === undefined || attempt >= 4) throw toScheduleError(error, command, listener.id);
          command = next;
        }
      }
    },
    remove,
  };
}

function checkName(listenerId: string): void {
  if (!SCHEDULE_NAME.test(listenerId)) {
    throw new ValidationError(`Listener id '${listenerId.slice(0, 80)}' cannot name a schedule`, [
      { path: 'id', message: 'must be 1 to 64 letters, digits, ".", "_" or "-"' },
    ]);
  }
}

function toScheduleError(error: unknown, operation: string, listenerId: string): FlowrunnerError {
  const failure = awsFailure(error);
  const details = { listener_id: listenerId, operation, error: failure.name };
  if (failure.name === 'ValidationException') {
    // Scheduler's own check of the expression or time zone: the listener cannot be scheduled as it is.
    return new ValidationError(
      `EventBridge Scheduler refused the schedule of listener '${listenerId}': ${failure.message}`,
      [{ path: 'match', message: failure.message }],
      { cause: error, details },
    );
  }
  if (failure.name === 'AccessDeniedException') {
    return new ConfigurationError(
      `The ${operation} of the schedule of listener '${listenerId}' was denied: the function needs ` +
        `scheduler:${operation[0]!.toUpperCase()}${operation.slice(1)}Schedule on the group and iam:PassRole on the Scheduler role`,
      { code: 'SchedulerAccessDenied', cause: error, details },
    );
  }
  if (failure.name === 'ServiceQuotaExceededException') {
    return new ConfigurationError(
      `The account's EventBridge Scheduler quota is spent: the schedule of listener '${listenerId}' was not created`,
      { code: 'SchedulerQuotaExceeded', cause: error, details },
    );
  }
  const message = `The ${operation} of the schedule of listener '${listenerId}' failed: ${failure.name}`;
  // Throttled or down: the API answers 503 with Retry-After, and a retry (a PATCH) writes the schedule.
  if (failure.transient) return new ThrottledError(message, { cause: error, details });
  return new FlowrunnerError('SchedulerUnavailable', message, { cause: error, details });
}
