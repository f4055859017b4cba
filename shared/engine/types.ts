/**
 * The run as the engine sees it: its state, the signals that move it, the work it asks for and
 * the events it records. All of it is plain JSON, so it can be checkpointed anywhere.
 */
import type { ErrorInfo } from '../errors.js';

export const RunStatus = {
  queued: 'queued',
  running: 'running',
  waiting: 'waiting',
  paused: 'paused',
  completed: 'completed',
  failed: 'failed',
  canceled: 'canceled',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

export const StepStatus = {
  pending: 'pending',
  running: 'running',
  waiting: 'waiting',
  completed: 'completed',
  failed: 'failed',
  skipped: 'skipped',
  compensated: 'compensated',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

export const EventType = {
  runCreated: 'run.created',
  runStarted: 'run.started',
  runWaiting: 'run.waiting',
  runResumed: 'run.resumed',
  runPaused: 'run.paused',
  runUnpaused: 'run.unpaused',
  runCompleted: 'run.completed',
  runFailed: 'run.failed',
  runCanceled: 'run.canceled',
  runRedriven: 'run.redriven',
  stepStarted: 'step.started',
  stepCompleted: 'step.completed',
  stepFailed: 'step.failed',
  stepRetrying: 'step.retrying',
  stepSkipped: 'step.skipped',
  stepWaiting: 'step.waiting',
  stepCompensating: 'step.compensating',
  stepCompensated: 'step.compensated',
  /** A notification to a person could not be delivered (CONTRACT §8); it is retried, the run goes on. */
  stepNotifyFailed: 'step.notify_failed',
  aiRequest: 'ai.request',
  aiResponse: 'ai.response',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface RunEvent {
  seq: number;
  type: EventType;
  at: string;
  step_id?: string;
  data: Record<string, unknown>;
}

/** What a waiting step waits for; `data` is shown to people in `waiting[]` (fields, approvers, …). */
export interface WaitSpec {
  kind: 'form' | 'approval' | 'timer' | 'child' | (string & {});
  /** When the wait ends by itself (ISO-8601). */
  until?: string;
  /** The outcome when `until` passes; without one, the step fails with `StepTimeout`. */
  timeout_outcome?: string;
  /** The output given with `timeout_outcome`. */
  timeout_output?: unknown;
  /** Public details: form fields, approvers, message. */
  data?: Record<string, unknown>;
  /** Private progress of the wait, e.g. approvals received so far. */
  progress?: unknown;
  child_run_id?: string;
}

/** The result of one attempt of a step (or of a compensation action). */
export type StepResult =
  | { status: 'completed'; outcome: string; output?: unknown; events?: StepEvent[] }
  | { status: 'failed'; error: ErrorInfo; events?: StepEvent[] }
  | { status: 'waiting'; wait: WaitSpec; events?: StepEvent[] };

/** An event a step asks to record, such as `ai.request` or `ai.response`. */
export interface StepEvent {
  type: EventType;
  data: Record<string, unknown>;
}

/** The current state of one step of a run: its latest visit. */
export interface StepState {
  status: StepStatus;
  /** Visits so far; 0 until the step is entered. */
  visit: number;
  attempt: number;
  started_at?: string;
  ended_at?: string;
  outcome?: string;
  /** The latest finished visit's output and error stay visible until the step finishes again. */
  output?: unknown;
  error?: ErrorInfo;
  wait?: WaitSpec;
  /** Forward edges into this step that have settled in the current pass: source id → taken. */
  inbound?: Record<string, boolean>;
  /** A retry is due at this time (ISO-8601); the step is `waiting` for its backoff timer. */
  retry_at?: string;
  /** An attempt's deadline (ISO-8601) for waits that have a step `timeout_s`. */
  deadline?: string;
  /** Set while paused: the step may run but has not been dispatched. */
  ready?: boolean;
  /** A child run that ended before this step recorded that it waits for it. */
  early_child?: ChildOutcome;
}

export interface ChildOutcome {
  child_run_id: string;
  status: 'completed' | 'failed' | 'canceled';
  output?: unknown;
  error?: ErrorInfo;
}

export interface Completion {
  step_id: string;
  visit: number;
  /** The output of that visit, kept for its compensation action. */
  output?: unknown;
}

export interface CompensationState {
  reason: 'failed' | 'canceled';
  /**
   * How many completions are still to undo: `completions[left - 1]` is the next one (the step that
   * completed last is undone first). A count, not a copy of the completions: a commit of the
   * compensation writes this number, not every output still to undo.
   */
  left: number;
  /**
   * Runs whose compensation began before `left` existed: the completions still to undo, the next one
   * first (always the first completions, last first). Read once into `left` and dropped.
   */
  queue?: Completion[];
  /** The one being undone now. */
  current?: Completion & { attempt: number; retry_at?: string };
  failures: ErrorInfo[];
  done: number;
}

export interface RunState {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: RunStatus;
  inputs: unknown;
  profile?: unknown;
  created_at: string;
  started_at?: string;
  updated_at: string;
  ended_at?: string;
  /** The seq of the last recorded event. */
  seq: number;
  /** Grows by one with every applied signal: the optimistic-concurrency version of the run. */
  checkpoint: number;
  steps: Record<string, StepState>;
  /** Steps that are running, waiting or ready to run: what keeps the run from ending. */
  active: string[];
  /** Completions of steps that have a `compensate` action, in completion order. */
  completions: Completion[];
  /** The step that completed last (for the default run output). */
  last_completed?: string;
  compensation?: CompensationState;
  /** The status to return to on unpause. */
  paused_from?: RunStatus;
  output?: unknown;
  error?: ErrorInfo;
  compensated?: boolean;
  /**
   * The run and step that started this one (a `workflow` step), and how deep this run is among
   * child runs: 1 for the child of a run started on its own (absent on runs stored before it was
   * recorded, which count as 1).
   */
  parent?: {
    run_id: string;
    step_id: string;
    visit: number;
    depth?: number;
    /** The run at the top of the tree of child runs this one belongs to (absent on runs stored before it was recorded). */
    root_run_id?: string;
  };
  /** The listener and event that started the run (CONTRACT §6), for a triggered run. */
  trigger?: { listener_id: string; type: string; event_id: string };
  /** Set while the run's `output` template is being rendered. */
  finishing?: boolean;
  /** Where a failed run stopped, for a redrive: what it was doing and what it never reached. */
  stopped?: StoppedAt;
  /** How many times the run was redriven. */
  redrives?: number;
  /** The run this one reruns (`POST /v1/executions/{id}/rerun`). */
  rerun_of?: string;
  /** The run's trace (CONTRACT §10): its root span's ids, stored at creation so every span joins one trace. */
  trace?: { trace_id: string; span_id: string; parent_span_id?: string };
}

/** A failed run's unfinished work, recorded when it fails: what a redrive picks up again. */
export interface StoppedAt {
  /** Steps that failed unhandled or were interrupted by the failure: a redrive enters each again (a new visit). */
  steps: string[];
  /** Steps that were still pending and were marked skipped when the run ended: a redrive makes them pending again. */
  unreached: string[];
}

/** How an answer to a wait came (CONTRACT §8): a personal link, the API, or the console. */
export const AnswerChannel = { link: 'link', api: 'api', console: 'console' } as const;
export type AnswerChannel = (typeof AnswerChannel)[keyof typeof AnswerChannel];

/** Who answered a wait and through which channel, as `run.resumed` and `step.completed` show it. */
export interface Answerer {
  by?: string;
  via?: AnswerChannel;
}

/** Everything that can move a run. */
export type Signal =
  | { type: 'start' }
  | {
      type: 'step_result';
      step_id: string;
      visit: number;
      attempt: number;
      /** True for the result of a compensation action. */
      compensation?: boolean;
      result: StepResult;
    }
  | ({ type: 'resume'; step_id?: string; payload: unknown } & Answerer)
  | ({ type: 'callback'; step_id: string; visit: number; payload: unknown } & Answerer)
  | { type: 'timeout' }
  | { type: 'cancel'; reason?: string; by?: string }
  /** The host stops the run with an error (a run that keeps crashing its host): it fails, and compensates. */
  | { type: 'abort'; error: ErrorInfo }
  | { type: 'pause'; by?: string }
  | { type: 'unpause'; by?: string }
  /** A failed run continues from where it stopped (CONTRACT §9). */
  | { type: 'redrive'; by?: string }
  | ({ type: 'child_finished'; step_id: string; visit: number } & ChildOutcome)
  | { type: 'output_rendered'; output?: unknown; error?: ErrorInfo };

export type SignalType = Signal['type'];

/** Work the engine asks its host to carry out; each ends in a signal. */
export type Work =
  | { kind: 'execute'; step_id: string; visit: number; attempt: number; deadline?: string }
  | { kind: 'compensate'; step_id: string; visit: number; attempt: number; output?: unknown }
  | { kind: 'cancel_child'; step_id: string; child_run_id: string }
  | { kind: 'render_output' };

/** One step execution as shown in a run's history: one row per visit. */
export interface StepExecution
  extends Pick<
    StepState,
    'status' | 'visit' | 'attempt' | 'started_at' | 'ended_at' | 'outcome' | 'output' | 'error'
  > {
  step_id: string;
  type: string;
}

export interface Transition {
  state: RunState;
  work: Work[];
  events: RunEvent[];
  /** Step executions created or changed by this transition (upsert by step_id + visit). */
  history: StepExecution[];
  /** False when the signal did not apply (a stale result, a resume for a step that is not waiting). */
  accepted: boolean;
  /** Why the signal was not accepted. */
  rejection?: ErrorInfo;
}

/** How deep a run is among child runs: 0 for a run started on its own, 1 for its child, and so on. */
/**
 * The run at the top of a run's tree of child runs: itself when it was started on its own. (A child
 * stored before the root was recorded counts its parent as its root.)
 */
export function treeRoot(state: Pick<RunState, 'id' | 'parent'>): string {
  return state.parent === undefined ? state.id : (state.parent.root_run_id ?? state.parent.run_id);
}

export function nestingDepth(state: Pick<RunState, 'parent'>): number {
  return state.parent === undefined ? 0 : (state.parent.depth ?? 1);
}
