/** Lambda entry point of the state machine's Advance task. */
import { createAdvanceHandler } from './handlers.js';
import { orchestratorDeps } from './lambda-wiring.js';

export const handler = createAdvanceHandler(orchestratorDeps);
