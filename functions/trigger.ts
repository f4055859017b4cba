/**
 * Lambda entry point of the trigger function: EventBridge rules (S3 Object Created on the default bus,
 * the project's bus) and EventBridge Scheduler invoke it asynchronously. One redacted line per event
 * says what each listener did; a failure is thrown after the other deliveries were carried out, so
 * Lambda's retries (then the dead-letter queue) redeliver it, and the dedupe starts nothing twice.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '../shared/adapters/logger.js';
import { ValidationError } from '../shared/errors.js';
import { createTriggerHandler, TriggerDeliveryError } from './handlers.js';
import { lambdaOrchestrator } from './lambda-wiring.js';

const trigger = createTriggerHandler(lambdaOrchestrator());

export const handler = middy(async (event: unknown) => {
  try {
    const report = await trigger(event);
    logger.info('trigger', { deliveries: report.deliveries });
    return report;
  } catch (error) {
    if (error instanceof TriggerDeliveryError) {
      logger.error('trigger failed', { deliveries: error.report.deliveries, error });
    } else if (error instanceof ValidationError) {
      // The issues name paths, never values: the event itself may carry personal data.
      logger.error('trigger event refused', { reason: error.message, issues: error.issues });
    } else {
      logger.error('trigger failed', { error: error as Error });
    }
    throw error;
  }
}).use(injectLambdaContext(logger, { resetKeys: true }));
