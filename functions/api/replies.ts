/** Replies that several operations of the OpenAPI document give alike, written once. */
import { RUN, RUN_ID } from './examples.js';
import type { Reply } from './operation.js';
import { answerAccepted, runView } from './schemas.js';

/**
 * A request that starts a run at most once per key (or delivery): 202 with the run it started, 200
 * with that same run when the request comes again.
 */
export function runStartedReplies(
  options: { again?: string; started?: Reply['example'] } = {},
): Record<200 | 202, Reply> {
  return {
    200: {
      description: options.again ?? 'The same request again: the run it started',
      schema: runView,
      example: RUN,
    },
    202: { description: 'Started', schema: runView, example: options.started ?? RUN },
  };
}

/** An answer to a wait (a resume, a personal link) was accepted. */
export const ANSWER_ACCEPTED: Record<202, Reply> = {
  202: {
    description: 'Accepted: the run goes on',
    schema: answerAccepted,
    example: { run_id: RUN_ID, step_id: 'ask', visit: 1, accepted: true },
  },
};
