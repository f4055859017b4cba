/**
 * The trigger ports of the API function (the stack gives only it their settings): the schedules of
 * schedule listeners on EventBridge Scheduler, and PutEvents on the project's bus for `POST /v1/events`.
 * Only the API's entry point imports this module: no other function bundles or loads these clients.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { createEventBridgeBus } from '../../shared/adapters/event-bus.js';
import { createSchedulerSchedules } from '../../shared/adapters/scheduler.js';
import type { EventBus, Schedules } from '../../shared/ports/index.js';
import { settings } from '../lambda-wiring.js';

export const triggerPorts: { schedules?: Schedules; bus?: EventBus } = {
  ...(settings.schedules
    ? { schedules: createSchedulerSchedules({ client: new SchedulerClient({}), ...settings.schedules }) }
    : {}),
  ...(settings.eventBusName
    ? {
        bus: createEventBridgeBus({ client: new EventBridgeClient({}), eventBusName: settings.eventBusName }),
      }
    : {}),
};
