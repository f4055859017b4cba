/**
 * An Advance that keeps failing fails its run, so that no run stays `running` with nothing to carry
 * it. The state machine retries Advance; once the retries are spent, its Catch invokes Advance again
 * with the error (`AdvanceInput.failure`, state-machine.ts `Abort`). That Advance applies the run's
 * inbox, then an `abort` with the error below, and starts no step (orchestrator.ts `abortRun`, which
 * also says what happens when the inbox is what fails): the run fails where people look,
 * saying what went wrong, and its compensations (if any) run in the Advances after it. A run whose
 * compensation is what keeps failing ends at the next Abort, what was not undone listed with the
 * abort's error. A run without compensations can be redriven once the cause is fixed (CONTRACT §9);
 * a compensated one is rerun.
 */
import { processSecrets } from '../adapters/logger.js';
import type { ErrorInfo } from '../errors.js';
import { redactText } from '../observability/redact.js';
import type { AdvanceFailure } from './directive.js';

/** The code of a run failed because Advance kept failing. */
export const ADVANCE_FAILED = 'AdvanceFailed';

/** The error's own message is kept to this length: the stack and any payload stay in the logs. */
const MAX_DESCRIPTION = 500;

/**
 * The run's error: what Advance failed with, redacted as a log line is. A failed run's completed steps
 * are compensated as after any failure; a run without compensations can be redriven once the cause
 * is fixed.
 */
export function advanceFailedError(failure: AdvanceFailure): ErrorInfo {
  const { type, message } = described(failure);
  // Redacted whole, then cut: a secret that a cut split in two would no longer be recognised.
  let description = redactText(message ? `${type}: ${message}` : type, processSecrets);
  if (description.length > MAX_DESCRIPTION) description = `${description.slice(0, MAX_DESCRIPTION)}…`;
  return {
    code: ADVANCE_FAILED,
    message:
      `Flowrunner could not advance this run (${description}), ` +
      'also when it tried again, so the run was failed rather than left running',
  };
}

/**
 * The error's type and message. Lambda's cause is the error as JSON (`{errorType, errorMessage,
 * trace}`); the local interpreter's is the message itself; a Task that ran out of time has no cause
 * worth reading.
 */
function described(failure: AdvanceFailure): { type: string; message: string } {
  const name = failure.Error || 'Error';
  if (name === 'States.Timeout') return { type: name, message: 'Advance ran out of time' };
  const cause = failure.Cause ?? '';
  if (cause.startsWith('{')) {
    try {
      const error = JSON.parse(cause) as { errorType?: unknown; errorMessage?: unknown };
      if (typeof error.errorMessage === 'string') {
        return {
          type: typeof error.errorType === 'string' ? error.errorType : name,
          message: error.errorMessage,
        };
      }
    } catch {
      // Not Lambda's JSON: the cause is the message.
    }
  }
  return { type: name, message: cause };
}
