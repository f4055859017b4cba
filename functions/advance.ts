/** Lambda entry point of the state machine's Advance task: one redacted JSON log line per invocation. */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger, withAdvanceLog } from '../shared/adapters/logger.js';
import { createAdvanceHandler } from './handlers.js';
import { lambdaOrchestrator } from './lambda-wiring.js';
import { notificationMail } from './notification-mail.js';
import { flushObservability } from './observability.js';

const orchestratorDeps = lambdaOrchestrator({ mail: notificationMail });

export const handler = middy(withAdvanceLog(createAdvanceHandler(orchestratorDeps), logger)).use([
  injectLambdaContext(logger, { resetKeys: true }),
  flushObservability(),
]);
