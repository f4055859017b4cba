/** The run as the API shows it (CONTRACT §3), with a callback token for every wait a person can answer. */
import { answerableSteps, waitingSteps } from '../../shared/engine/transition.js';
import type { RunState } from '../../shared/engine/types.js';
import type { OrchestratorDeps } from '../../shared/orchestration/orchestrator.js';

export interface WaitingView {
  step_id: string;
  type: string;
  visit: number;
  fields?: unknown;
  approvers?: unknown;
  message?: unknown;
  expires_at?: string;
  callback_token?: string;
}

export interface RunView {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: RunState['status'];
  waiting: WaitingView[];
  output?: unknown;
  error?: unknown;
  compensated?: boolean;
  created_at: string;
  started_at?: string;
  updated_at: string;
  ended_at?: string;
}

export async function runView(deps: OrchestratorDeps, state: RunState): Promise<RunView> {
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
  };
  if (state.output !== undefined) view.output = state.output;
  if (state.error !== undefined) view.error = state.error;
  if (state.compensated !== undefined) view.compensated = state.compensated;
  if (state.status !== 'waiting' && state.status !== 'running' && state.status !== 'paused') return view;
  const workflow = await deps.stores.workflows.get(state.workflow_id, state.workflow_version);
  const now = deps.clock.now();
  const answerable = new Set(answerableSteps(workflow, state, deps.registry));
  for (const wait of waitingSteps(workflow, state)) {
    const { step_id, visit, type, kind: _kind, expires_at, ...data } = wait;
    const item: WaitingView = { step_id, type, visit, ...data };
    if (typeof expires_at === 'string') item.expires_at = expires_at;
    // A wait past its deadline is about to time out: it gets no new token (nor one per GET).
    const overdue = typeof expires_at === 'string' && Date.parse(expires_at) <= now.getTime();
    if (answerable.has(step_id) && !overdue) {
      const callbacks = deps.stores.callbacks;
      item.callback_token =
        (await callbacks.forWait(state.id, step_id, visit, now)) ??
        (await callbacks.issue(
          { run_id: state.id, step_id, visit, ...(typeof expires_at === 'string' ? { expires_at } : {}) },
          now,
        ));
    }
    view.waiting.push(item);
  }
  return view;
}
