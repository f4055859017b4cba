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
import { deliverSignal } from '../../../shared/orchestration/orchestrator.js';
import { answerSignalId } from '../../../shared/orchestration/signal-ids.js';
import type { CallbackTarget } from '../../../shared/ports/index.js';
import type { ApiDeps } from '../deps.js';
import { conflict, HttpError } from '../http-error.js';
import { jsonBody } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { checkResume } from './executions.js';

/** 404 with a problem type per reason, so a page can tell "used" from "expired" from "unknown". */
function linkGone(reason: 'unknown' | 'used' | 'expired', detail: string): HttpError {
  return new HttpError(404, reason === 'unknown' ? 'Not Found' : `Link ${reason}`, detail, {
    headers: { 'cache-control': 'no-store' },
  });
}

const sameAddress = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

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

  router.on('GET', '/v1/callbacks/{token}', async (request) => {
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
  });

  router.on('POST', '/v1/callbacks/{token}', async (request) => {
    const token = request.params.token!;
    const target = await liveTarget(token);
    const payload = jsonBody(request, z.unknown());
    const { state } = await openWait(target);
    const answer = personalAnswer(state, target, payload);
    const workflow = await workflows.get(state.workflow_id, state.workflow_version);
    // Checked before the token is used, so a mistyped answer does not burn the link.
    checkResume(o, workflow, state, target.step_id, answer);
    const redeemed = await callbacks.redeem(token, o.clock.now());
    if (!redeemed) {
      // Another use of the same link won the race (or it expired meanwhile): say which.
      await liveTarget(token);
      throw conflict('The link was used meanwhile');
    }
    // The same inbox id as an answer through the API: whichever channel answers first is the answer.
    const { accepted } = await deliverSignal(
      target.run_id,
      answerSignalId(state, target.step_id),
      {
        type: 'callback',
        step_id: target.step_id,
        visit: target.visit,
        payload: answer,
        ...(target.person ? { by: target.person, via: AnswerChannel.link } : {}),
      },
      o,
    );
    if (!accepted) throw conflict(`Another answer to step '${target.step_id}' was accepted first`);
    return json(202, { run_id: target.run_id, step_id: target.step_id, visit: target.visit, accepted });
  });
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
  if (typeof body.approver === 'string' && !sameAddress(body.approver, person)) {
    throw new ForbiddenError(`This link answers as '${person}' only`);
  }
  return { ...body, approver: person };
}
