/**
 * Lambda entry point run every minute by an EventBridge schedule: delivers the notifications that
 * failed, or that were recorded by an Advance that stopped before delivering them (CONTRACT §8).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '../shared/adapters/logger.js';
import { lambdaOrchestrator } from './lambda-wiring.js';
import { notificationMail } from './notification-mail.js';

const orchestratorDeps = lambdaOrchestrator({ mail: notificationMail });

export const handler = middy(async (): Promise<{ tried: number }> => {
  const deps = await orchestratorDeps();
  const tried = (await deps.notifier?.retryDue()) ?? 0;
  if (tried > 0) logger.info('notification retries', { tried });
  return { tried };
}).use(injectLambdaContext(logger, { resetKeys: true }));
