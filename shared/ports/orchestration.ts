/** The ports of the state machine: what the orchestration asks of Step Functions (or the local interpreter). */
import type { ExecutionInput } from '../orchestration/directive.js';

/** Completes a parked execution (Step Functions' SendTaskSuccess); a stale or used token is not an error. */
export interface TaskTokens {
  complete(token: string): Promise<void>;
}

/** Starts an execution of the state machine for a run (StartExecution); a repeated name starts nothing new. */
export interface Executions {
  start(input: ExecutionInput, name: string): Promise<void>;
}
