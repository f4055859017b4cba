/** Lambda entry point of the state machine's AwaitSignal task (invoked with a task token). */
import { createAwaitSignalHandler } from './handlers.js';
import { orchestratorDeps } from './lambda-wiring.js';

export const handler = createAwaitSignalHandler(orchestratorDeps);
