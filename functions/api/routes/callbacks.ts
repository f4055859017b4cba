/**
 * `POST /v1/callbacks/{token}`: resumes the wait that owns a single-use token (links in mails, other
 * systems). The token is the credential (CONTRACT §8): the route needs no API key (api-key-auth.ts).
 */
import { z } from 'zod';
import { isFinal } from '../../../shared/engine/transition.js';
import { deliverSignal } from '../../../shared/orchestration/orchestrator.js';
import { answerSignalId } from '../../../shared/orchestration/signal-ids.js';
import type { ApiDeps } from '../deps.js';
import { RUN_ID } from '../examples.js';
import { conflict, notFound } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { jsonBody } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { answerAccepted } from '../schemas.js';
import { checkResume } from './executions.js';

/** The answer, as the waiting step type reads it; the token names the step, its visit and, for a person's link, who answers. */
export const callbackBody = z.unknown().meta({
  description:
    'A form: `{inputs}`. An approval: `{decision: approved|rejected, comment?}`. Another wait: its own shape.',
});

const doc: OperationDoc = {
  operationId: 'answerCallback',
  tag: 'Callbacks',
  summary: 'Answer the wait that owns a single-use token',
  description:
    'The token is the credential: no API key is needed. A refused answer does not use the token up.',
  body: { schema: callbackBody, example: { inputs: { email: 'ada@example.com' } } },
  replies: {
    202: {
      description: 'Accepted: the run goes on',
      schema: answerAccepted,
      example: { run_id: RUN_ID, step_id: 'ask', visit: 1, accepted: true },
    },
  },
  refusals: {
    403: 'The person the token names may not give this answer',
    404: 'The token is unknown, used or expired',
    409: 'That wait has ended, or another answer was accepted first',
    422: 'The answer does not fit the wait',
  },
};

export function callbackRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const { callbacks, runs, workflows } = o.stores;
  const gone = () => notFound('The callback token is unknown, used or expired');

  router.on(
    'POST',
    '/v1/callbacks/{token}',
    async (request) => {
      const token = request.params.token!;
      const now = o.clock.now();
      const target = await callbacks.peek(token, now);
      if (!target) throw gone();
      const payload = jsonBody(request, callbackBody);
      const { state } = await runs.get(target.run_id);
      const step = state.steps[target.step_id];
      if (isFinal(state.status) || step?.status !== 'waiting' || step.visit !== target.visit) {
        throw conflict(`That wait of step '${target.step_id}' has ended`);
      }
      const workflow = await workflows.get(state.workflow_id, state.workflow_version);
      // Checked before the token is used, so a mistyped answer does not burn the link.
      checkResume(o, workflow, state, target.step_id, payload);
      const redeemed = await callbacks.redeem(token, o.clock.now());
      if (!redeemed) throw gone();
      // The same inbox id as an answer through the API: whichever channel answers first is the answer.
      const { accepted } = await deliverSignal(
        redeemed.run_id,
        answerSignalId(state, redeemed.step_id),
        { type: 'callback', step_id: redeemed.step_id, visit: redeemed.visit, payload },
        o,
      );
      if (!accepted) throw conflict(`Another answer to step '${redeemed.step_id}' was accepted first`);
      return json(202, {
        run_id: redeemed.run_id,
        step_id: redeemed.step_id,
        visit: redeemed.visit,
        accepted,
      });
    },
    doc,
  );
}
