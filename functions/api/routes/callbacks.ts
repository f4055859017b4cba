/**
 * `GET` and `POST /v1/callbacks/{token}`: the task behind a single-use token (links in mails, other
 * systems), and its answer. The token is the credential (CONTRACT §8): neither needs an API key
 * (api-key-auth.ts). A personal token names its person: the answer is theirs (`by`, `via: link`),
 * and an approval through it needs no `approver`. A used or expired link says which, and when.
 */
import { z } from 'zod';
import { isFinal, waitingSteps } from '../../../shared/engine/transition.js';
import { AnswerChannel, type RunState } from '../../../shared/engine/types.js';
import { ForbiddenError } from '../../../shared/errors.js';
import { answerSignalId } from '../../../shared/orchestration/signal-ids.js';
import type { CallbackTarget } from '../../../shared/ports/index.js';
import { sameApprover } from '../../../shared/steps/approval.js';
import { deliverOnce } from '../deliver.js';
import type { ApiDeps } from '../deps.js';
import { RUN_ID } from '../examples.js';
import { conflict, HttpError } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { jsonBody } from '../params.js';
import { ANSWER_ACCEPTED } from '../replies.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { answerTaken, checkResume } from './executions.js';

/** The answer, as the waiting step type reads it; the token names the step, its visit and, for a person's link, who answers. */
export const callbackBody = z.unknown().meta({
  description:
    'A form: `{inputs}`. An approval: `{decision: approved|rejected, comment?}`. Another wait: its own shape.',
});

/** The task behind a link: the run and step, and what the wait shows people (fields, approvers, message). */
const callbackTask = z
  .looseObject({
    run_id: z.string(),
    workflow_id: z.string(),
    workflow_version: z.number().int().min(1),
    step_id: z.string(),
    step_name: z.string().optional(),
    visit: z.number().int().min(1),
    type: z.string(),
    person: z.string().optional().meta({ description: 'Whom a personal link names' }),
  })
  .meta({ id: 'CallbackTask' });

const GONE = 'The link is unknown, used (the title says "Link used" and when) or expired ("Link expired")';

const docs = {
  get: {
    operationId: 'getCallbackTask',
    tag: 'Callbacks',
    summary: 'The task behind a single-use link: what the wait asks, and of whom',
    description: 'The token is the credential: no API key is needed. Reading does not use the link up.',
    replies: {
      200: {
        description: 'The task',
        schema: callbackTask,
        example: {
          run_id: RUN_ID,
          workflow_id: 'greeting',
          workflow_version: 2,
          step_id: 'review',
          visit: 1,
          type: 'approval',
          approvers: ['lead@example.com'],
          person: 'lead@example.com',
        },
      },
    },
    refusals: { 404: GONE, 409: 'The run has ended, or the wait has' },
  },
  post: {
    operationId: 'answerCallback',
    tag: 'Callbacks',
    summary: 'Answer the wait that owns a single-use token',
    description:
      'The token is the credential: no API key is needed. A refused answer does not use the token up; an accepted one does.',
    body: { schema: callbackBody, example: { inputs: { email: 'ada@example.com' } } },
    replies: ANSWER_ACCEPTED,
    refusals: {
      403: 'The person the link names may not give this answer',
      404: GONE,
      409: 'That wait has ended, or the link, another answer or a cancel was used first',
      422: 'The answer does not fit the wait',
    },
  },
} satisfies Record<string, OperationDoc>;

/** 404 with a problem type per reason, so a page can tell "used" from "expired" from "unknown". */
function linkGone(reason: 'unknown' | 'used' | 'expired', detail: string): HttpError {
  return new HttpError(404, reason === 'unknown' ? 'Not Found' : `Link ${reason}`, detail, {
    headers: { 'cache-control': 'no-store' },
  });
}

export function callbackRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const { callbacks, runs, workflows } = o.stores;

  /** The live target of a token, or the 404 that says why there is none. */
  async function liveTarget(token: string): Promise<CallbackTarget> {
    const found = await callbacks.lookup(token, o.clock.now());
    switch (found.state) {
      case 'live':
        return found.target;
      case 'used':
        throw linkGone('used', `This link was already used (${found.used_at}); it works once`);
      case 'expired':
        throw linkGone(
          'expired',
          `This link expired${found.target.expires_at ? ` at ${found.target.expires_at}` : ''}`,
        );
      case 'unknown':
        throw linkGone('unknown', 'The callback token is unknown, used or expired');
    }
  }

  /** The wait a target names, while it is still open (else 409 saying what became of it). */
  async function openWait(target: CallbackTarget): Promise<{ state: RunState }> {
    const { state } = await runs.get(target.run_id);
    const step = state.steps[target.step_id];
    if (isFinal(state.status)) throw conflict(`The run is already ${state.status}: nothing waits here`);
    if (step?.visit === target.visit && step.status === 'running') {
      // The notification can go out a moment before the wait is recorded.
      throw conflict(`Step '${target.step_id}' is opening its wait: try again in a moment`);
    }
    if (step?.status !== 'waiting' || step.visit !== target.visit) {
      throw conflict(`That wait of step '${target.step_id}' has ended`);
    }
    return { state };
  }

  router.on(
    'GET',
    '/v1/callbacks/{token}',
    async (request) => {
      const target = await liveTarget(request.params.token!);
      const { state } = await openWait(target);
      const workflow = await workflows.get(state.workflow_id, state.workflow_version);
      const step = workflow.definition.steps.find((s) => s.id === target.step_id)!;
      const wait = waitingSteps(workflow, state).find((w) => w.step_id === target.step_id);
      const { step_id: _id, visit: _visit, type: _type, kind: _kind, ...shown } = wait ?? {};
      return json(200, {
        run_id: state.id,
        workflow_id: state.workflow_id,
        workflow_version: state.workflow_version,
        step_id: target.step_id,
        ...(step.name ? { step_name: step.name } : {}),
        visit: target.visit,
        type: step.type,
        ...shown,
        ...(target.person ? { person: target.person } : {}),
      });
    },
    docs.get,
  );

  router.on(
    'POST',
    '/v1/callbacks/{token}',
    async (request) => {
      const token = request.params.token!;
      const target = await liveTarget(token);
      const payload = jsonBody(request, z.unknown());
      const { state } = await openWait(target);
      const answer = personalAnswer(state, target, payload);
      const workflow = await workflows.get(state.workflow_id, state.workflow_version);
      // Checked before the token is used, so a mistyped answer does not burn the link.
      const { decides } = checkResume(o, workflow, state, target.step_id, answer);
      const usedAt = o.clock.now();
      const redeemed = await callbacks.redeem(token, usedAt);
      if (!redeemed) {
        // Another use of the same link won the race (or it expired meanwhile): say which.
        await liveTarget(token);
        throw conflict('The link was used meanwhile');
      }
      // The same inbox id as an answer through the API: whichever channel answers first is the answer.
      await deliverOnce(
        o,
        state,
        answerSignalId(state, target.step_id),
        {
          type: 'callback',
          step_id: target.step_id,
          visit: target.visit,
          payload: answer,
          ...(target.person ? { by: target.person, via: AnswerChannel.link } : {}),
        },
        answerTaken(target.step_id, decides),
      ).catch(async (error: unknown) => {
        // Refused (409): this answer was not given, so the link is not used up. An approver whose
        // link lost a race with another approver's answers again with it.
        if (error instanceof HttpError && error.statusCode === 409)
          await callbacks.release(token, redeemed, usedAt);
        throw error;
      });
      return json(202, {
        run_id: target.run_id,
        step_id: target.step_id,
        visit: target.visit,
        accepted: true,
      });
    },
    docs.post,
  );
}

/**
 * The answer as the person of a personal link gives it: an approval is theirs (an `approver` naming
 * someone else is refused), anything else is passed on as it came.
 */
function personalAnswer(state: RunState, target: CallbackTarget, payload: unknown): unknown {
  const person = target.person;
  if (person === undefined || state.steps[target.step_id]?.wait?.kind !== 'approval') return payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return payload;
  const body = payload as Record<string, unknown>;
  if (typeof body.approver === 'string' && !sameApprover(body.approver, person)) {
    throw new ForbiddenError(`This link answers as '${person}' only`);
  }
  return { ...body, approver: person };
}
