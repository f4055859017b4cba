/**
 * The run as the API shows it (CONTRACT §3), with a callback token for every wait a person can
 * answer, and the totals of its AI calls (CONTRACT §7 `usage`).
 */
import type { z } from 'zod';
import { roundUsd } from '../../shared/ai/prices.js';
import type { WorkflowVersion } from '../../shared/definition/schema.js';
import { answerableSteps, waitingSteps } from '../../shared/engine/transition.js';
import { EventType, type RunState } from '../../shared/engine/types.js';
import { NotFoundError } from '../../shared/errors.js';
import type { OrchestratorDeps } from '../../shared/orchestration/orchestrator.js';
import type { CallbackTarget } from '../../shared/ports/index.js';
import { sameApprover } from '../../shared/steps/approval.js';
import type { runView as runViewSchema } from './schemas.js';

/** The run as the API answers it: its schema (schemas.ts) is the one the OpenAPI document shows. */
export type RunView = z.output<typeof runViewSchema>;
type WaitingView = RunView['waiting'][number];
/**
 * The run's AI calls summed from its `ai.response` events. `cost_usd` is null as soon as one call's
 * model has no price (shared/ai/prices.ts): a total that left it out would read as cheaper than it is.
 */
export type RunUsage = RunView['usage'];

const NO_USAGE: RunUsage = { tokens_prompt: 0, tokens_output: 0, cost_usd: 0, ai_calls: 0 };
/** Events read per page while summing usage. */
const USAGE_PAGE = 500;

/** Does any step (or compensate action) of the workflow call a model? */
function callsAi(workflow: WorkflowVersion): boolean {
  return workflow.definition.steps.some(
    (step) => step.type === 'ai_generate' || step.compensate?.type === 'ai_generate',
  );
}

/**
 * The run's usage. The engine state keeps no running total (its shape is not this module's), so it
 * is summed from the `ai.response` events — read only for runs whose workflow has an `ai_generate`
 * step: every other run answers zeros without reading its events.
 */
export async function runUsage(
  deps: Pick<OrchestratorDeps, 'stores'>,
  state: RunState,
  /** Undefined when it cannot be read: the events are read then. */
  workflow: WorkflowVersion | undefined,
): Promise<RunUsage> {
  if (workflow && !callsAi(workflow)) return { ...NO_USAGE };
  const usage: RunUsage = { ...NO_USAGE };
  let cost: number | null = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.stores.runs.events(state.id, {
      limit: USAGE_PAGE,
      ...(cursor ? { cursor } : {}),
    });
    for (const event of page.events) {
      if (event.type !== EventType.aiResponse) continue;
      const { tokens_prompt, tokens_output, cost_usd } = event.data;
      usage.ai_calls += 1;
      usage.tokens_prompt += typeof tokens_prompt === 'number' ? tokens_prompt : 0;
      usage.tokens_output += typeof tokens_output === 'number' ? tokens_output : 0;
      cost = cost === null || typeof cost_usd !== 'number' ? null : cost + cost_usd;
    }
    cursor = page.next_cursor;
  } while (cursor);
  usage.cost_usd = cost === null ? null : roundUsd(cost);
  return usage;
}

/**
 * Who asks for the view. A caller whose key names a principal answers as that person only (CONTRACT
 * §8), so the token it is shown must too: that person's own token (as their personal link would
 * carry) while it is unused, and none for an approval they are not an approver of. The wait's shared
 * token answers as anyone who names themself `approver`; it goes only to callers without a
 * principal, and never to a webhook's sender (`tokens: false`), who is no person and only ever
 * proved it holds one request.
 */
export interface Viewer {
  principal?: string | undefined;
  /** False: no `callback_token` at all. */
  tokens?: boolean;
}

export async function runView(
  deps: OrchestratorDeps,
  state: RunState,
  viewer: Viewer = {},
): Promise<RunView> {
  const view: RunView = {
    id: state.id,
    workflow_id: state.workflow_id,
    workflow_version: state.workflow_version,
    status: state.status,
    waiting: [],
    created_at: state.created_at,
    ...(state.started_at ? { started_at: state.started_at } : {}),
    updated_at: state.updated_at,
    ...(state.ended_at ? { ended_at: state.ended_at } : {}),
    usage: { ...NO_USAGE },
  };
  if (state.output !== undefined) view.output = state.output;
  if (state.error !== undefined) view.error = state.error;
  if (state.compensated !== undefined) view.compensated = state.compensated;
  if (state.redrives !== undefined) view.redrives = state.redrives;
  if (state.rerun_of !== undefined) view.rerun_of = state.rerun_of;
  if (state.trigger !== undefined) view.trigger = state.trigger;
  const workflow = await deps.stores.workflows
    .get(state.workflow_id, state.workflow_version)
    .catch((error: unknown) => {
      // A view of a finished run never needed its workflow: it still answers, its usage from the events.
      if (error instanceof NotFoundError) return undefined;
      throw error;
    });
  view.usage = await runUsage(deps, state, workflow);
  if (state.status !== 'waiting' && state.status !== 'running' && state.status !== 'paused') return view;
  // A run still going needs its workflow: its NotFoundError stands.
  const pinned = workflow ?? (await deps.stores.workflows.get(state.workflow_id, state.workflow_version));
  const now = deps.clock.now();
  const answerable = new Set(answerableSteps(pinned, state, deps.registry));
  for (const wait of waitingSteps(pinned, state)) {
    const { step_id, visit, type, kind: _kind, expires_at, ...data } = wait;
    const item: WaitingView = { step_id, type, visit, ...data };
    if (typeof expires_at === 'string') item.expires_at = expires_at;
    // A wait past its deadline is about to time out: it gets no new token (nor one per GET).
    const overdue = typeof expires_at === 'string' && Date.parse(expires_at) <= now.getTime();
    if (viewer.tokens !== false && answerable.has(step_id) && !overdue) {
      const target = {
        run_id: state.id,
        step_id,
        visit,
        ...(typeof expires_at === 'string' ? { expires_at } : {}),
      };
      const token = await waitToken(deps, target, item, viewer.principal, now);
      if (token !== undefined) item.callback_token = token;
    }
    view.waiting.push(item);
  }
  return view;
}

/** The token `viewer` is shown for a wait (`Viewer`): the shared one, or the principal's own. */
async function waitToken(
  deps: Pick<OrchestratorDeps, 'stores'>,
  target: CallbackTarget,
  wait: WaitingView,
  principal: string | undefined,
  now: Date,
): Promise<string | undefined> {
  const callbacks = deps.stores.callbacks;
  if (principal === undefined) {
    return (
      (await callbacks.forWait(target.run_id, target.step_id, target.visit, now)) ??
      (await callbacks.issue(target, now))
    );
  }
  const approvers = wait.approvers;
  if (
    Array.isArray(approvers) &&
    !approvers.some((approver) => typeof approver === 'string' && sameApprover(approver, principal))
  ) {
    return undefined;
  }
  const token = await callbacks.issue({ ...target, person: principal }, now);
  // Once they answered with it, it is used: a token that answers nothing is not shown.
  return (await callbacks.peek(token, now)) ? token : undefined;
}
