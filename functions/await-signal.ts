/** Lambda entry point of the state machine's AwaitSignal task (invoked with a task token). */

import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { logger } from '../shared/adapters/logger.js';
import { createAwaitSignalHandler } from './handlers.js';
import { lambdaOrchestrator } from './lambda-wiring.js';
import { flushObservability } from './observability.js';

const awaitSignal = createAwaitSignalHandler(lambdaOrchestrator());

export const handler = middy(async (event: unknown) => {
  const runId = (event as { run_id?: unknown } | null)?.run_id;
  // The task token is a credential: the line names the run only (the formatter would redact it anyway).
  logger.info('await signal', typeof runId === 'string' ? { run_id: runId } : {});
  await awaitSignal(event);
}).use([injectLambdaContext(logger, { resetKeys: true }), flushObservability()]);
