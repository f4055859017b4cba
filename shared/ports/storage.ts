/**
 * The stores behind runs and workflows. Each has an in-memory adapter (tests, the harness) and a
 * DynamoDB adapter (AWS, and dynalite on one machine); all pass the same conformance suite.
 */
import type { WorkflowDefinition, WorkflowVersion } from '../definition/schema.js';
import type { RunEvent, RunState, RunStatus, Signal, StepExecution, Transition } from '../engine/types.js';
import type { OutboxStore } from './notifications.js';
import type { PromptTemplate, PromptTemplateSource } from './services.js';

/** One page of a list; `next_cursor` is opaque, signed, and only valid for the same query. */
export interface Page<T> {
  items: T[];
  next_cursor?: string;
}

export interface PageRequest {
  /** 1–100 (default 25). */
  limit?: number;
  cursor?: string;
}

export interface WorkflowSummary {
  id: string;
  latest_version: number;
  name?: string;
  description?: string;
  created_at: string;
  updated_at: string;
  retired?: boolean;
}

/** One version of a workflow as `GET /v1/workflows/{id}/versions` lists it. */
export interface WorkflowVersionInfo {
  version: number;
  created_at: string;
  /** SHA-256 (hex) of the definition as canonical JSON: see shared/storage/content-hash.ts. */
  content_hash: string;
}

export interface WorkflowStore {
  /** Version 1 of a new workflow; ConflictError when the id exists (retired ids included). */
  create(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion>;
  /**
   * The next version; NotFoundError for an unknown id. A definition whose content hash equals the
   * latest version's adds no version: the latest is returned as it is. On a retired workflow the
   * definition always adds a version, which revives it (CONTRACT §9).
   */
  update(definition: WorkflowDefinition, now: Date): Promise<WorkflowVersion>;
  /** Every version, newest first, a page at a time; NotFoundError for an unknown id. */
  versions(id: string, page?: PageRequest): Promise<Page<WorkflowVersionInfo>>;
  /** The given version or the latest; NotFoundError. Retired workflows stay readable (their runs finish). */
  get(id: string, version?: number): Promise<WorkflowVersion>;
  summary(id: string): Promise<WorkflowSummary>;
  list(page?: PageRequest): Promise<Page<WorkflowSummary>>;
  /** Stops new runs; runs under way finish. NotFoundError for an unknown id. */
  retire(id: string, now: Date): Promise<void>;
}

/** What a caller writes of a prompt template version: the store numbers and dates it. */
export type PromptTemplateContent = Omit<PromptTemplate, 'version' | 'created_at'>;

export interface PromptTemplateSummary {
  id: string;
  latest_version: number;
  description?: string;
  created_at: string;
  updated_at: string;
}

/** Prompt templates beside the workflows (CONTRACT §7): versioned like them, read by `ai_generate`. */
export interface PromptTemplateStore extends PromptTemplateSource {
  /** Version 1 of a new template; ConflictError when the id exists. */
  create(template: PromptTemplateContent, now: Date): Promise<PromptTemplate>;
  /**
   * The next version; NotFoundError for an unknown id. Content equal to the latest version's adds
   * no version: the latest is returned as it is.
   */
  update(template: PromptTemplateContent, now: Date): Promise<PromptTemplate>;
  /** Every template, by id. */
  list(page?: PageRequest): Promise<Page<PromptTemplateSummary>>;
}

export interface RunSummary {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: RunStatus;
  created_at: string;
  updated_at: string;
}

export interface RunListQuery extends PageRequest {
  workflow_id?: string;
  status?: RunStatus;
  /** Runs created strictly after this instant (ISO-8601). */
  created_after?: string;
  /** Runs created strictly before this instant (ISO-8601). */
  created_before?: string;
}

/** Where a run's host keeps its own bookkeeping beside the engine's state, committed atomically with it. */
export interface RunRecord {
  state: RunState;
  /** The seq of the last inbox signal applied to this state (0 = none): the inbox is drained after it. */
  inbox_cursor: number;
  /** The current task token of the run's execution (Step Functions), if it waits for a signal. */
  task_token?: string;
  /**
   * The inbox's entries after `inbox_cursor` (at most 100), when the store reads them with the run
   * (DynamoDB: one Query holds the run and its inbox); absent when the caller must read the inbox.
   */
  inbox?: InboxEntry[];
}

export interface CommitOptions {
  /** The seq of the last inbox signal this state has applied; unchanged when absent. */
  inbox_cursor?: number;
  /**
   * The ids of the steps whose state this transition may have changed (a superset is fine). A store
   * that writes deltas writes only these steps; without the list it writes the whole state.
   */
  steps?: readonly string[];
}

export interface RunStore {
  /** Stores a new run (its `createRun` transition); ConflictError when the id exists. */
  create(created: Transition): Promise<void>;
  /**
   * Stores a transition: the state (checkpoint N+1), its events and its history rows. Refused with
   * StaleCheckpointError unless the stored checkpoint is `transition.state.checkpoint - 1`, so two
   * processes advancing one run can never both win.
   */
  commit(transition: Transition, options?: CommitOptions): Promise<void>;
  /**
   * NotFoundError for an unknown id. The large outputs that completions keep for their compensations
   * may come back as references (a long loop keeps one per visit, and only a compensation reads
   * one): `readKept` reads one back.
   */
  get(runId: string): Promise<RunRecord>;
  /** A completion's output as `get` returned it, read back in full (anything else comes back as it is). */
  readKept(output: unknown): Promise<unknown>;
  list(query?: RunListQuery): Promise<Page<RunSummary>>;
  /** Runs in the given statuses, any workflow, from the status index. */
  listByStatus(statuses: readonly RunStatus[], page?: PageRequest): Promise<Page<RunSummary>>;
  /**
   * The ids of every run in the given statuses, read from the runs themselves, not from an index:
   * strongly consistent and O(all runs). For picking runs up after a restart, where an index entry
   * that a crash left behind (or lost) must not hide a run.
   */
  idsInStatus(statuses: readonly RunStatus[]): Promise<string[]>;
  /**
   * Events with seq > after, in seq order; or, with `cursor` (a `next_cursor` of this run), the page
   * after it. `next_cursor` is given while more events exist.
   */
  events(
    runId: string,
    options?: { after?: number; cursor?: string; limit?: number },
  ): Promise<{ events: RunEvent[]; next_cursor?: string }>;
  /** Every step execution of the run, merged by (step_id, visit), in the order they began. */
  history(runId: string): Promise<StepExecution[]>;
  /** Sets or clears the task token; with `ifCheckpoint`, only while the run is still at that checkpoint. */
  setTaskToken(runId: string, token: string | undefined, options?: { ifCheckpoint?: number }): Promise<void>;
}

export interface InboxEntry {
  /** Grows by one per accepted signal of the run. */
  seq: number;
  signal: Signal;
  /** The caller's id for this signal (a resume request id, a callback token hash): a repeat is not accepted twice. */
  signal_id: string;
  received_at: string;
}

/** Signals to a run that its next Advance applies: written before delivery, so none is ever lost. */
/** How a signal is put: `unless` one of these ids was accepted by the run's inbox (SignalInbox.put). */
export interface SignalPutOptions {
  unless?: readonly string[];
}

export interface SignalInbox {
  /**
   * Accepts a signal once per signal_id; `accepted: false` for a repeat (same id), or, with
   * `unless`, when the run's inbox has accepted one of those ids (ever): `blocked` then says so. The
   * check and the write are one conditional write, so of a signal and an `unless` sent at once,
   * whichever comes second is the one refused.
   */
  put(
    runId: string,
    signalId: string,
    signal: Signal,
    now: Date,
    options?: SignalPutOptions,
  ): Promise<{ accepted: boolean; seq?: number; blocked?: boolean }>;
  /** Entries after `after`, in order. */
  read(runId: string, after: number, limit?: number): Promise<InboxEntry[]>;
  /**
   * Removes entries up to and including `upTo` (after they were applied and committed). `from`, the
   * seq of the first entry the caller read, saves a read when nothing older is left in the inbox.
   */
  trim(runId: string, upTo: number, from?: number): Promise<void>;
}

export interface CallbackTarget {
  run_id: string;
  step_id: string;
  visit: number;
  expires_at?: string;
  /**
   * The person a personal link was made for (CONTRACT §8): the answer is theirs. A personal token is
   * derived from the wait and the person alone, so issuing it again (a step re-run after a crash)
   * gives the same link, and never brings a used one back.
   */
  person?: string;
}

/** What a token is now, so a link can say why it no longer works. */
export type CallbackTokenLookup =
  | { state: 'live'; target: CallbackTarget }
  | { state: 'used'; target: CallbackTarget; used_at: string }
  | { state: 'expired'; target: CallbackTarget }
  | { state: 'unknown' };

/** Single-use tokens that resume one wait (links in mails, other systems). Only their hash is stored. */
export interface CallbackTokens {
  /**
   * A new unguessable token (≥ 256 bits) for a wait; for a target with a `person`, that person's
   * token, the same on every call (issued again after it was used, it stays used).
   */
  issue(target: CallbackTarget, now: Date): Promise<string>;
  /** The target of a live, unused token, without using it. */
  peek(token: string, now: Date): Promise<CallbackTarget | undefined>;
  /** Whether a token is live, used (and when), expired or unknown, without using it. */
  lookup(token: string, now: Date): Promise<CallbackTokenLookup>;
  /** Uses the token: the first call wins, later ones (and expired or unknown tokens) get undefined. */
  redeem(token: string, now: Date): Promise<CallbackTarget | undefined>;
  /**
   * Gives back a token that `redeem` used at `usedAt` and whose answer was then refused (another
   * answer to the same wait was accepted first): live again, as if unused. A token used at another
   * time is left as it is.
   */
  release(token: string, target: CallbackTarget, usedAt: Date): Promise<void>;
  /** The live token issued for a wait, if any, for `waiting[].callback_token`. */
  forWait(runId: string, stepId: string, visit: number, now: Date): Promise<string | undefined>;
}

export interface IdempotencyRecord {
  key: string;
  /** SHA-256 of the canonical request body. */
  body_hash: string;
  run_id: string;
  expires_at: string;
}

export interface IdempotencyKeys {
  /** The live record of `key`, if any (a retry is answered from it before the request is checked again). */
  find(key: string, now: Date): Promise<IdempotencyRecord | undefined>;
  /** Stores the record unless the key is live already; returns the record that holds (new or existing). */
  claim(record: IdempotencyRecord, now: Date): Promise<{ created: boolean; record: IdempotencyRecord }>;
}

export const ListenerType = {
  s3: 's3',
  eventbridge: 'eventbridge',
  schedule: 'schedule',
  webhook: 'webhook',
} as const;
export type ListenerType = (typeof ListenerType)[keyof typeof ListenerType];

/** What a listener is, as its owner wrote it (CONTRACT §6): created by the API, changed by PATCH. */
export interface ListenerDefinition {
  id: string;
  type: ListenerType;
  workflow_id: string;
  /** The pinned workflow version; the latest when absent. */
  version?: number;
  /**
   * s3: {bucket, prefix?, suffix?}; eventbridge: an event pattern; schedule: {expression, timezone?,
   * overlap?}; webhook: {signature?: {scheme, secret}}. Checked by shared/triggers/listener-match.ts.
   */
  match: Record<string, unknown>;
  /** A template rendered against `{event}` into the run's inputs; `{event}` itself when absent. */
  inputs?: unknown;
  enabled: boolean;
  created_at: string;
  updated_at: string;
}

/** What a listener did, kept by the dispatcher and the scheduler beside its definition. */
export interface ListenerActivity {
  /** Runs started. */
  fired: number;
  /** Fires not started because the previous run still went (`overlap: skip`). */
  skipped: number;
  /** Fires that could not start a run (inputs that do not fit, a retired workflow...). */
  failed: number;
  last_fired_at?: string;
  last_run_id?: string;
  last_error?: { code: string; message: string; at: string };
  /** Schedules: when the next fire is due. */
  next_fire_at?: string;
}

export type Listener = ListenerDefinition & ListenerActivity;

/** The part of a definition `PATCH /v1/listeners/{id}` may change. */
export interface ListenerChange {
  enabled?: boolean;
  match?: Record<string, unknown>;
  /** `null` removes the template. */
  inputs?: unknown;
}

/** One fire of a listener, as the dispatcher records it. */
export type ListenerFire =
  | { outcome: 'started'; at: string; run_id: string }
  | { outcome: 'skipped'; at: string }
  | { outcome: 'failed'; at: string; error: { code: string; message: string } };

/** What finds listeners: an object put in a bucket, an event on a bus, every schedule. */
export type ListenerSource =
  | { type: 's3'; bucket: string; key: string }
  | { type: 'eventbridge'; event: unknown }
  | { type: 'schedule' };

export interface ListenerStore {
  /** A new listener with no activity yet; ConflictError when the id exists, ValidationError for a bad match. */
  create(definition: ListenerDefinition): Promise<Listener>;
  get(id: string): Promise<Listener>;
  list(page?: PageRequest): Promise<Page<Listener>>;
  /** Changes the definition (concurrent changes are applied one after the other); NotFoundError. */
  update(id: string, change: ListenerChange, now: Date): Promise<Listener>;
  delete(id: string): Promise<void>;
  /**
   * The listeners, enabled or not, that a source event concerns: S3 by bucket, then prefix and suffix;
   * EventBridge by their pattern; schedules all of them. Webhooks are found by id (`get`).
   */
  find(source: ListenerSource): Promise<Listener[]>;
  /** Counts a fire; a listener deleted meanwhile is ignored. */
  recordFire(id: string, fire: ListenerFire): Promise<void>;
  /** Sets (or clears) when a schedule fires next; a listener deleted meanwhile is ignored. */
  setNextFire(id: string, at: string | undefined): Promise<void>;
}

export interface ArtifactInfo {
  name: string;
  size: number;
  content_type: string;
  updated_at: string;
}

/** Files of a run in S3: `runs/<run_id>/artifacts/<name>`. */
export interface ArtifactStore {
  put(runId: string, name: string, body: Uint8Array | string, contentType?: string): Promise<ArtifactInfo>;
  get(runId: string, name: string): Promise<{ info: ArtifactInfo; body: Uint8Array }>;
  /**
   * The file's info, and its bytes when it has at most `maxBytes`; a larger file's bytes are left
   * unread (hand out its `url`): how the API serves a file without holding a large one in memory.
   */
  getWithin(
    runId: string,
    name: string,
    maxBytes: number,
  ): Promise<{ info: ArtifactInfo; body?: Uint8Array }>;
  list(runId: string, page?: PageRequest): Promise<Page<ArtifactInfo>>;
  delete(runId: string, name: string): Promise<void>;
  /** A presigned GET URL valid for `expiresInS` seconds (default 900). */
  url(runId: string, name: string, expiresInS?: number): Promise<string>;
  /**
   * Copies an object of another bucket into the run's artifacts (S3 CopyObject: the bytes never pass
   * through the caller); NotFoundError when the object is gone. How a triggered run reads its upload.
   */
  copyIn(runId: string, name: string, source: ObjectLocation): Promise<ArtifactInfo>;
}

/**
 * Copies of answers too large to send as they are (a Lambda answer is at most 6 MB): each is kept
 * for a day, and handed out as a presigned URL that the API redirects to.
 */
export interface AnswerCopies {
  /** Keeps `body` with its content type; a URL that serves it for a few minutes. */
  keep(body: Uint8Array, contentType: string): Promise<string>;
}

/** An object in a bucket, at one version when `version_id` is given. */
export interface ObjectLocation {
  bucket: string;
  key: string;
  version_id?: string;
}

/**
 * How many child runs each tree of runs has started (a run started on its own is a tree's root; its
 * children, theirs and so on are its tree): depth alone does not bound a workflow that starts several
 * copies of itself, and each run is an execution and its invocations in the cloud.
 */
export interface RunTrees {
  /**
   * Counts one more child run in the tree of `rootRunId`, unless it has started `limit` already:
   * whether it was counted. Concurrent admissions never count past the limit.
   */
  admit(rootRunId: string, limit: number): Promise<boolean>;
}

/** All the stores of one runtime, as the wiring module builds them. */
export interface Stores {
  workflows: WorkflowStore;
  templates: PromptTemplateStore;
  runs: RunStore;
  inbox: SignalInbox;
  callbacks: CallbackTokens;
  idempotency: IdempotencyKeys;
  /** How many child runs each tree of runs started. */
  trees: RunTrees;
  /** The notifications sent to people (CONTRACT §8): the local mailbox and the record of every channel. */
  outbox: OutboxStore;
  listeners: ListenerStore;
  artifacts: ArtifactStore;
}

export interface OffloadOptions {
  /**
   * How large the whole may stay, for a caller that offloaded its single values one by one already:
   * a run snapshot may fill most of a DynamoDB item, so the many small steps of a long run stay in it.
   */
  wholeBytes?: number;
}

/** Where a part sits in a value: the keys and indexes from its root, keys as the user wrote them. */
export type ValuePath = readonly (string | number)[];

export interface RestoreOptions {
  /**
   * Whether a claim that sits at `path` stays a claim: a part read only now and then, restored on its
   * own when it is (`restoreKept`). The path is only valid during the call.
   */
  leave?(path: ValuePath): boolean;
}

/**
 * Claim checks: values too large for a run record (DynamoDB's 400 KB item, Step Functions' 256 KB
 * payload) are moved to S3 and replaced by a reference, and read back transparently.
 */
export interface LargePayloads {
  /**
   * The value with every part larger than the threshold (64 KB by default) replaced by
   * `{ $claim: "<key>", size }`, and then, while the whole is still above the threshold, its largest
   * remaining parts. With `wholeBytes`, only the second: the largest parts while the whole is above it.
   */
  offload(runId: string, value: unknown, options?: OffloadOptions): Promise<unknown>;
  /** The value with every claim replaced by what it refers to, except those `leave` names. */
  restore(value: unknown, options?: RestoreOptions): Promise<unknown>;
  /**
   * A claim that `restore` left in place, replaced by what it refers to; any other value as it is
   * (user data shaped like a claim included: only the claims `restore` left are read).
   */
  restoreKept(value: unknown): Promise<unknown>;
}
