/**
 * The RunStore on DynamoDB, at one small write per commit.
 *
 * A run's partition (`pk = <run id>`) holds its commits and its run item:
 *
 * - a commit item (`sk = c#<seq before it>#<checkpoint>`) per commit: its events and history rows
 *   (`log`), and what it changed in the state (`diff`, see run-delta.ts) or, every so many commits
 *   or bytes, the whole state (`state`, a snapshot). It is written by one conditional PutItem
 *   (`attribute_not_exists`): every process that commits after checkpoint N names the same key (the
 *   seq and checkpoint of N decide it), so exactly one of them wins and the others get
 *   StaleCheckpointError. The commit item is the commit: nothing else has to be written with it.
 * - the run item (`sk = run`): what lists and indexes read (status, workflow, times) and the task
 *   token. It is rewritten only when the status changes, after the commit item, and a reader that
 *   finds it behind the commits (a crash in between) brings it up to date.
 *
 * Reading a run is one Query, newest first, from the run item down to the latest snapshot: the
 * state is that snapshot with the deltas after it applied in order. Bytes and write units per commit
 * follow what the commit changed, not the size of the run; a snapshot is written once the deltas
 * since the last one add up to its own size (or after `snapshotEvery` commits), so its cost spreads
 * to at most about one delta's per commit. Runs stored by the previous layout (the whole state in
 * the run item, a journal beside it) are moved to this one when first touched (run-layout-v1.ts).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  Completion,
  RunEvent,
  RunState,
  RunStatus,
  StepExecution,
  Transition,
} from '../../engine/types.js';
import { ConflictError, NotFoundError, StaleCheckpointError, StorageError } from '../../errors.js';
import type {
  CommitOptions,
  LargePayloads,
  Page,
  PageRequest,
  RestoreOptions,
  RunListQuery,
  RunRecord,
  RunStore,
  RunSummary,
} from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { HistoryRows } from '../history.js';
import {
  ALL_RUN_STATUSES,
  checkStatus,
  compareKeys,
  type EventsRequest,
  eventsPage,
  eventsWindow,
  pageLimit,
  runListScope,
  runOrderKey,
  runOrderWindow,
  runStatusScope,
  statusSet,
} from '../paging.js';
import { INBOX_READ_DEFAULT } from '../rules.js';
import { applyDelta, type StateDelta, stateDelta } from '../run-delta.js';
import {
  type Item,
  json,
  N,
  number,
  optionalNumber,
  optionalString,
  padded,
  S,
  string,
  textBytes,
} from './attributes.js';
import { INBOX_SORT_KEY, inboxEntries } from './inbox.js';
import { COMMIT, COMMIT_END, commitSortKey, RUN, runKey } from './run-keys.js';
import { isV1RunItem, upgradeV1Run } from './run-layout-v1.js';
import { Table } from './table.js';
import { INDEXES } from './tables.js';

/** A snapshot at least every this many commits, so a read merges a bounded number of deltas. */
export const DEFAULT_SNAPSHOT_EVERY = 100;
/** A snapshot once the deltas since the last one reach this many bytes, and never before… */
export const DEFAULT_SNAPSHOT_MIN_BYTES = 16 * 1024;
/**
 * …nor before they reach this many times the last snapshot's size: a snapshot then costs at most a
 * third of the deltas it follows, so write units per step stay flat as a run grows, while a read
 * (snapshot and deltas) stays within four times the state's size.
 */
const SNAPSHOT_SIZE_FACTOR = 3;
/** DynamoDB's 400 KB item, less room for keys and attributes: what `log` and `state`/`diff` may fill. */
const ITEM_BUDGET_BYTES = 380 * 1024;
/** How large a commit's log and its state part may stay once large single values moved to S3. */
const LOG_WHOLE_BYTES = 100 * 1024;
const STATE_WHOLE_BYTES = 270 * 1024;
/** The members of a state, a delta and a log whose own members are offloaded one by one (see #text). */
const NONE: ReadonlySet<string> = new Set();
/**
 * The outputs completions keep for their compensations (`completions[i].output`, in a snapshot and
 * in a delta alike): `get` leaves those that are in storage there. A loop of 2,000 visits keeps 2,000,
 * and every Advance and every read of the run loaded them all (15 s for a GET).
 */
const KEEP_COMPLETION_OUTPUTS: RestoreOptions = {
  leave: (path) =>
    (path.length === 3 && path[0] === 'completions' && path[2] === 'output') ||
    // A compensation stored before it only counted what is left kept a copy of them (in a snapshot,
    // and in a delta's `run`): read, then dropped.
    (path.length === 4 && path[0] === 'compensation' && path[1] === 'queue' && path[3] === 'output') ||
    (path.length === 5 &&
      path[0] === 'run' &&
      path[1] === 'compensation' &&
      path[2] === 'queue' &&
      path[4] === 'output'),
};
const STATE_PARTS: ReadonlySet<string> = new Set(['steps', 'completions']);
const DELTA_PARTS: ReadonlySet<string> = new Set(['run', 'steps', 'completions']);
const LOG_PARTS: ReadonlySet<string> = new Set(['e', 'h']);
/** Runs whose latest commit this process knows (from its last read or write), so commits need no read. */
const MAX_KNOWN_TIPS = 1000;
/** Items per page when reading a run newest first: the run item, the inbox, and the commits to a snapshot. */
const READ_PAGE = 24;

/** What this process knows of a run's latest commit: enough to write the next one without a read. */
interface Tip {
  checkpoint: number;
  seq: number;
  inbox_cursor: number;
  /** Completions in the state at this commit (a delta carries only the ones added). */
  completions: number;
  /** Commits and bytes written since the latest snapshot, and that snapshot's size. */
  since: number;
  since_bytes: number;
  snapshot_bytes: number;
  /** The status the run item shows (it is rewritten when the status changes). */
  listed_status: RunStatus | undefined;
}

/** A commit item as read. */
interface Commit {
  checkpoint: number;
  seq: number;
  /** The seq before the commit: its events are seq_before + 1 … seq. */
  seq_before: number;
  item: Item;
}

export interface DynamoDbRunStoreOptions {
  client: DynamoDBClient;
  table: string;
  cursors: CursorCodec;
  /** Claim checks for large single values; without it an oversized commit fails with ItemTooLarge. */
  largePayloads?: LargePayloads;
  /** A snapshot at least every this many commits (default 100). */
  snapshotEvery?: number;
  /** The least bytes of deltas before a snapshot (default 16 KB); a larger state waits for its own size. */
  snapshotMinBytes?: number;
}

export class DynamoDbRunStore implements RunStore {
  readonly #table: Table;
  readonly #cursors: CursorCodec;
  readonly #payloads: LargePayloads | undefined;
  readonly #snapshotEvery: number;
  readonly #snapshotMinBytes: number;
  readonly #tips = new Map<string, Tip>();
  /** Completions as they were stored, by the engine's object (`#storedCompletion`). */
  readonly #storedCompletions = new WeakMap<Completion, unknown>();

  constructor(options: DynamoDbRunStoreOptions) {
    this.#table = new Table(options.client, options.table);
    this.#cursors = options.cursors;
    this.#payloads = options.largePayloads;
    this.#snapshotEvery = Math.max(1, options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY);
    this.#snapshotMinBytes = Math.max(0, options.snapshotMinBytes ?? DEFAULT_SNAPSHOT_MIN_BYTES);
  }

  async create(created: Transition): Promise<void> {
    const state = created.state;
    const log = await this.#log(state.id, created);
    const snapshot = await this.#text(state.id, state, STATE_PARTS, STATE_WHOLE_BYTES);
    this.#checkSize(state.id, log, snapshot);
    const seqBefore = state.seq - created.events.length;
    const { applied } = await this.#table.put({
      Item: {
        pk: S(state.id),
        sk: S(commitSortKey(seqBefore, state.checkpoint)),
        ...commitAttributes(state, 0, { since: 0, bytes: 0, snapshot: textBytes(snapshot) }),
        log: S(log),
        state: S(snapshot),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    // The run item second: a run whose commit is stored but whose run item is not (the process died
    // in between, and the start was never acknowledged) is completed by a repeated create.
    const listed = await this.#table.put({
      Item: { ...runKey(state.id), ...runAttributes(state) },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (!applied && !listed.applied) throw new ConflictError(`Run '${state.id}' already exists`);
    if (!applied) return;
    this.#remember(state.id, {
      checkpoint: state.checkpoint,
      seq: state.seq,
      inbox_cursor: 0,
      completions: state.completions.length,
      since: 0,
      since_bytes: 0,
      snapshot_bytes: textBytes(snapshot),
      listed_status: state.status,
    });
  }

  async commit(transition: Transition, options: CommitOptions = {}): Promise<void> {
    const state = transition.state;
    const runId = state.id;
    const tip = await this.#tip(runId, state.checkpoint - 1);
    const log = await this.#log(runId, transition);
    const inboxCursor = options.inbox_cursor ?? tip.inbox_cursor;
    const delta = options.steps === undefined ? undefined : stateDelta(state, options.steps, tip.completions);
    let diff =
      delta === undefined ? undefined : await this.#text(runId, delta, DELTA_PARTS, STATE_WHOLE_BYTES);
    const bytes = textBytes(log) + (diff === undefined ? 0 : textBytes(diff));
    const snapshotDue =
      diff === undefined ||
      tip.since + 1 >= this.#snapshotEvery ||
      tip.since_bytes + bytes > Math.max(this.#snapshotMinBytes, SNAPSHOT_SIZE_FACTOR * tip.snapshot_bytes);
    let stateText: string | undefined;
    if (snapshotDue) {
      stateText = await this.#text(runId, state, STATE_PARTS, STATE_WHOLE_BYTES);
      diff = undefined;
    }
    this.#checkSize(runId, log, stateText ?? diff!);
    const counts = stateText
      ? { since: 0, bytes: 0, snapshot: textBytes(stateText) }
      : { since: tip.since + 1, bytes: tip.since_bytes + bytes, snapshot: tip.snapshot_bytes };
    const { applied } = await this.#table.put({
      Item: {
        pk: S(runId),
        sk: S(commitSortKey(state.seq - transition.events.length, state.checkpoint)),
        ...commitAttributes(state, inboxCursor, counts),
        log: S(log),
        ...(stateText ? { state: S(stateText) } : { diff: S(diff!) }),
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (!applied) {
      // Another process committed after the same checkpoint first.
      this.#tips.delete(runId);
      throw new StaleCheckpointError(runId, state.checkpoint - 1);
    }
    const next: Tip = {
      checkpoint: state.checkpoint,
      seq: state.seq,
      inbox_cursor: inboxCursor,
      completions: state.completions.length,
      since: counts.since,
      since_bytes: counts.bytes,
      snapshot_bytes: counts.snapshot,
      listed_status: tip.listed_status,
    };
    this.#remember(runId, next);
    if (state.status !== tip.listed_status) {
      await this.#list(state);
      next.listed_status = state.status;
    }
  }

  async get(runId: string): Promise<RunRecord> {
    const { run, inbox, commits } = await this.#newest(runId, true);
    const newest = commits[0];
    if (!newest) throw new NotFoundError('Run', runId);
    const snapshot = commits.at(-1)!;
    // The outputs completions keep stay in storage until a compensation reads one (`readKept`).
    let state = (await this.#restore(
      json<unknown>(snapshot.item, 'state'),
      KEEP_COMPLETION_OUTPUTS,
    )) as RunState;
    for (let i = commits.length - 2; i >= 0; i--) {
      const diff = await this.#restore(json<unknown>(commits[i]!.item, 'diff'), KEEP_COMPLETION_OUTPUTS);
      state = applyDelta(state, diff as StateDelta);
    }
    const tip = tipOf(newest, run);
    this.#remember(runId, tip);
    // The run item is behind its commits (the process died between the two writes): bring it up.
    if (!run || (string(run, 'status') !== state.status && number(run, 'checkpoint') < state.checkpoint)) {
      await this.#list(state);
      tip.listed_status = state.status;
    }
    const record: RunRecord = { state, inbox_cursor: tip.inbox_cursor };
    const token = run && optionalString(run, 'task_token');
    if (token) record.task_token = token;
    // The inbox item sits between the run item and the commits: the same Query read it.
    record.inbox = inbox
      ? await inboxEntries(inbox, tip.inbox_cursor, INBOX_READ_DEFAULT, (value) => this.#restore(value))
      : [];
    return record;
  }

  async list(query: RunListQuery = {}): Promise<Page<RunSummary>> {
    const limit = pageLimit(query);
    const status = query.status === undefined ? undefined : checkStatus(query.status);
    const scope = runListScope(query);
    const before = this.#before(scope, query.cursor);
    const workflow = query.workflow_id;
    const statuses = status === undefined ? ALL_RUN_STATUSES : [status];
    // One partition per status (and workflow): each is in order already, so the pages merge.
    const partitions =
      workflow === undefined
        ? statuses.map((s) => ({ index: INDEXES.runsByStatus, key: 'status', value: s }))
        : statuses.map((s) => ({
            index: INDEXES.runsByWorkflowStatus,
            key: 'workflow_status',
            value: `${workflow}#${s}`,
          }));
    return this.#merged(partitions, before, limit, scope, runOrderWindow(query));
  }

  async listByStatus(statuses: readonly RunStatus[], page: PageRequest = {}): Promise<Page<RunSummary>> {
    const limit = pageLimit(page);
    const wanted = statusSet(statuses);
    const scope = runStatusScope(wanted);
    const partitions = wanted.map((s) => ({ index: INDEXES.runsByStatus, key: 'status', value: s }));
    return this.#merged(partitions, this.#before(scope, page.cursor), limit, scope);
  }

  async idsInStatus(statuses: readonly RunStatus[]): Promise<string[]> {
    const wanted = statusSet(statuses);
    const values: Item = { ':run': S(RUN) };
    wanted.forEach((status, i) => {
      values[`:s${i}`] = S(status);
    });
    const items = await this.#table.scan({
      ConsistentRead: true,
      FilterExpression: `sk = :run AND #status IN (${wanted.map((_, i) => `:s${i}`).join(', ')})`,
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: values,
      ProjectionExpression: 'pk',
    });
    return items.map((item) => string(item, 'pk'));
  }

  async events(
    runId: string,
    options?: EventsRequest,
  ): Promise<{ events: RunEvent[]; next_cursor?: string }> {
    const { after, limit } = eventsWindow(this.#cursors, runId, options);
    // Commits that begin at or after `after` hold only later events; they are read oldest first,
    // up to the run item (which says the run exists), stopping once a page and one more are found.
    const items = await this.#table.query(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': S(runId),
          ':from': S(`${COMMIT}${padded(after)}#`),
          ':to': S(RUN),
        },
        ConsistentRead: true,
        Limit: READ_PAGE,
      },
      (read) => {
        let count = 0;
        for (const item of read) {
          if (!isCommit(item)) continue;
          const commit = commitOf(item);
          count += commit.seq - Math.max(commit.seq_before, after);
        }
        return count > limit;
      },
    );
    const run = items.find((item) => string(item, 'sk') === RUN);
    if (run && isV1RunItem(run)) return this.#upgraded(runId, () => this.events(runId, options));
    const commits = items.filter(isCommit).map(commitOf);
    // The commit that holds `after` itself (it began before it) may hold later events too.
    if (after > 0 && (commits[0]?.seq_before ?? Number.POSITIVE_INFINITY) > after) {
      const before = await this.#table.query({
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': S(runId),
          ':from': S(COMMIT),
          ':to': S(`${COMMIT}${padded(after)}#`),
        },
        ConsistentRead: true,
        ScanIndexForward: false,
        Limit: 1,
      });
      commits.unshift(...before.filter(isCommit).map(commitOf));
    }
    if (commits.length === 0 && !run) throw new NotFoundError('Run', runId);
    const events: RunEvent[] = [];
    for (const commit of commits) {
      if (commit.seq <= after) continue;
      for (const event of (await this.#logOf(commit)).e) if (event.seq > after) events.push(event);
      if (events.length > limit) break;
    }
    return eventsPage(this.#cursors, runId, events, limit);
  }

  async history(runId: string): Promise<StepExecution[]> {
    const items = await this.#table.query({
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': S(runId), ':from': S(COMMIT), ':to': S(RUN) },
      ConsistentRead: true,
    });
    const run = items.find((item) => string(item, 'sk') === RUN);
    if (run && isV1RunItem(run)) return this.#upgraded(runId, () => this.history(runId));
    const commits = items.filter(isCommit);
    if (commits.length === 0 && !run) throw new NotFoundError('Run', runId);
    const rows = new HistoryRows();
    for (const item of commits) rows.add((await this.#logOf(commitOf(item))).h);
    return rows.list();
  }

  async setTaskToken(
    runId: string,
    token: string | undefined,
    options: { ifCheckpoint?: number } = {},
  ): Promise<void> {
    const checkpoint = options.ifCheckpoint;
    if (checkpoint !== undefined) {
      // The run item does not follow every commit, so the newest commit says where the run is. A
      // commit that lands between this read and the write below finds the token and clears it, as
      // every Advance does when it begins.
      const [newest] = await this.#table.query({
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': S(runId), ':from': S(COMMIT), ':to': S(COMMIT_END) },
        ConsistentRead: true,
        ScanIndexForward: false,
        Limit: 1,
        ProjectionExpression: 'c',
      });
      if (!newest) throw new NotFoundError('Run', runId);
      if (number(newest, 'c') !== checkpoint) throw new StaleCheckpointError(runId, checkpoint);
    }
    const { applied } = await this.#table.update({
      Key: runKey(runId),
      UpdateExpression: token === undefined ? 'REMOVE task_token' : 'SET task_token = :token',
      ConditionExpression: 'attribute_exists(pk)',
      ...(token === undefined ? {} : { ExpressionAttributeValues: { ':token': S(token) } }),
    });
    if (!applied) throw new NotFoundError('Run', runId);
  }

  /**
   * Moves every run still stored in the previous layout to this one (a data directory written by an
   * earlier version); returns how many moved. Runs are also moved one by one when first touched.
   */
  async upgradeStoredRuns(): Promise<number> {
    const items = await this.#table.scan({
      ConsistentRead: true,
      FilterExpression: 'sk = :run AND attribute_exists(#state)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':run': S(RUN) },
      ProjectionExpression: 'pk',
    });
    for (const item of items) await upgradeV1Run(this.#table, string(item, 'pk'));
    return items.length;
  }

  /** The tip at `expected`: known from this process's last read or write, else read. */
  async #tip(runId: string, expected: number): Promise<Tip> {
    const known = this.#tips.get(runId);
    if (known?.checkpoint === expected) return known;
    const { run, commits } = await this.#newest(runId, false);
    const newest = commits[0];
    if (!newest) throw new NotFoundError('Run', runId);
    const tip = tipOf(newest, run);
    this.#remember(runId, tip);
    if (tip.checkpoint !== expected) throw new StaleCheckpointError(runId, expected);
    return tip;
  }

  /**
   * The run item and the commits newest first: down to the latest snapshot when `toSnapshot`, else
   * just the newest. A run in the previous layout is moved to this one first.
   */
  async #newest(
    runId: string,
    toSnapshot: boolean,
  ): Promise<{ run?: Item; inbox?: Item; commits: Commit[] }> {
    const items = await this.#table.query(
      {
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': S(runId), ':from': S(COMMIT), ':to': S(RUN) },
        ConsistentRead: true,
        ScanIndexForward: false,
        Limit: toSnapshot ? READ_PAGE : 3,
      },
      (read) => read.some((item) => isCommit(item) && (!toSnapshot || item.state !== undefined)),
    );
    const run = items.find((item) => string(item, 'sk') === RUN);
    if (run && isV1RunItem(run)) return this.#upgraded(runId, () => this.#newest(runId, toSnapshot));
    const commits: Commit[] = [];
    for (const item of items) {
      if (!isCommit(item)) continue;
      commits.push(commitOf(item));
      if (!toSnapshot || item.state !== undefined) break;
    }
    if (toSnapshot && commits.length > 0 && commits.at(-1)!.item.state === undefined) {
      throw new StorageError('StorageCorrupt', `Run ${runId} has commits but no snapshot before them`);
    }
    const inbox = items.find((item) => string(item, 'sk') === INBOX_SORT_KEY);
    return { ...(run ? { run } : {}), ...(inbox ? { inbox } : {}), commits };
  }

  async #upgraded<T>(runId: string, again: () => Promise<T>): Promise<T> {
    await upgradeV1Run(this.#table, runId);
    return again();
  }

  /** Writes the run item from the state, unless it already shows a later checkpoint. */
  async #list(state: RunState): Promise<void> {
    const values: Item = {};
    const sets: string[] = [];
    for (const [name, value] of Object.entries(runAttributes(state))) {
      sets.push(`#${name} = :${name}`);
      values[`:${name}`] = value;
    }
    await this.#table.update({
      Key: runKey(state.id),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'attribute_not_exists(pk) OR #checkpoint < :checkpoint',
      ExpressionAttributeNames: Object.fromEntries(
        Object.keys(runAttributes(state)).map((n) => [`#${n}`, n]),
      ),
      ExpressionAttributeValues: values,
    });
  }

  #remember(runId: string, tip: Tip): void {
    this.#tips.delete(runId);
    this.#tips.set(runId, tip);
    if (this.#tips.size > MAX_KNOWN_TIPS) this.#tips.delete(this.#tips.keys().next().value!);
  }

  #checkSize(runId: string, log: string, state: string): void {
    const bytes = textBytes(log) + textBytes(state);
    if (bytes > ITEM_BUDGET_BYTES) {
      throw new StorageError(
        'ItemTooLarge',
        `Run ${runId} needs ${bytes} bytes in one DynamoDB item (limit ${ITEM_BUDGET_BYTES}): ` +
          'configure large payloads (claim checks) so big values move to S3',
        { details: { run_id: runId, bytes } },
      );
    }
  }

  /**
   * JSON text of a record (a state, a delta, a log), each single value of it (a step, an event, a
   * history row, a field of the run) offloaded on its own when it is large; then, should the whole
   * still be too big for the item (a very long run), its largest parts.
   */
  async #text(
    runId: string,
    value: object,
    deeper: ReadonlySet<string>,
    wholeBytes: number,
  ): Promise<string> {
    const payloads = this.#payloads;
    if (!payloads) return JSON.stringify(value);
    const members = async (record: object, nested: ReadonlySet<string>, kept = false): Promise<unknown> => {
      const entries = await Promise.all(
        Object.entries(record).map(
          async ([key, member]): Promise<[string, unknown]> => [
            key,
            nested.has(key) && typeof member === 'object' && member !== null
              ? await members(member, NONE, key === 'completions')
              : kept
                ? await this.#storedCompletion(runId, member as Completion)
                : await payloads.offload(runId, member),
          ],
        ),
      );
      return Array.isArray(record) ? entries.map(([, member]) => member) : Object.fromEntries(entries);
    };
    const packed = await members(value, deeper);
    const text = JSON.stringify(packed);
    if (textBytes(text) <= wholeBytes) return text;
    return JSON.stringify(await payloads.offload(runId, packed, { wholeBytes }));
  }

  /**
   * A completion as stored, offloaded once per object: a completion never changes once the engine
   * appended it, and every snapshot an Advance writes holds it. Offloading each again serialised and
   * hashed every output a long loop kept (140 MB for 2,000 visits of 70 KB) on each snapshot, and
   * held the process for seconds.
   */
  async #storedCompletion(runId: string, completion: Completion): Promise<unknown> {
    const known = this.#storedCompletions.get(completion);
    if (known !== undefined) return known;
    const stored = await this.#payloads!.offload(runId, completion);
    if (typeof completion === 'object' && completion !== null) {
      this.#storedCompletions.set(completion, stored);
    }
    return stored;
  }

  async #log(runId: string, transition: Transition): Promise<string> {
    const log: CommitLog = { e: transition.events, h: transition.history };
    return this.#text(runId, log, LOG_PARTS, LOG_WHOLE_BYTES);
  }

  async #logOf(commit: Commit): Promise<CommitLog> {
    return (await this.#restore(json<unknown>(commit.item, 'log'))) as CommitLog;
  }

  async readKept(output: unknown): Promise<unknown> {
    return this.#payloads ? this.#payloads.restoreKept(output) : output;
  }

  async #restore(value: unknown, options?: RestoreOptions): Promise<unknown> {
    return this.#payloads ? this.#payloads.restore(value, options) : value;
  }

  #before(scope: unknown[], cursor: string | undefined): string | undefined {
    return cursor === undefined ? undefined : positionString(this.#cursors.decode(scope, cursor), 'before');
  }

  /**
   * The newest `limit` runs before the cursor across index partitions that are each newest first,
   * inside a window of order keys (runs created in a time range: runOrderWindow) when one is given.
   */
  async #merged(
    partitions: Array<{ index: string; key: string; value: string }>,
    cursor: string | undefined,
    limit: number,
    scope: unknown[],
    window: { above?: string; below?: string } = {},
  ): Promise<Page<RunSummary>> {
    // Both bounds exclusive. A window's bounds are never a run's key; the cursor is one (the last
    // run of the previous page): BETWEEN includes it, so it is dropped below, and one more is read.
    const below =
      cursor === undefined || (window.below !== undefined && compareKeys(window.below, cursor) < 0)
        ? window.below
        : cursor;
    const above = window.above;
    // An empty window: DynamoDB refuses a BETWEEN whose bounds are the wrong way round.
    if (above !== undefined && below !== undefined && compareKeys(above, below) >= 0) return { items: [] };
    const condition =
      above !== undefined && below !== undefined
        ? '#p = :p AND order_key BETWEEN :above AND :below'
        : above !== undefined
          ? '#p = :p AND order_key > :above'
          : below !== undefined
            ? '#p = :p AND order_key < :below'
            : '#p = :p';
    const pages = await Promise.all(
      partitions.map((partition) =>
        this.#table.query(
          {
            IndexName: partition.index,
            KeyConditionExpression: condition,
            ExpressionAttributeNames: { '#p': partition.key },
            ExpressionAttributeValues: {
              ':p': S(partition.value),
              ...(above === undefined ? {} : { ':above': S(above) }),
              ...(below === undefined ? {} : { ':below': S(below) }),
            },
            ScanIndexForward: false,
            Limit: limit + 2,
          },
          (items) => items.length > limit + 1,
        ),
      ),
    );
    const ordered = newestOfEachRun(
      pages
        .flat()
        .filter((item) => below === undefined || string(item, 'order_key') !== below)
        .sort((a, b) => compareKeys(string(b, 'order_key'), string(a, 'order_key'))),
    );
    const items = ordered.slice(0, limit).map(summaryFrom);
    const page: Page<RunSummary> = { items };
    if (ordered.length > limit) {
      page.next_cursor = this.#cursors.encode(scope, { before: string(ordered[limit - 1]!, 'order_key') });
    }
    return page;
  }
}

/** A commit's events and history rows, as stored in `log`. */
interface CommitLog {
  e: RunEvent[];
  h: StepExecution[];
}

/** The attributes of a run item that its indexes and summaries read. */
function runAttributes(state: RunState): Item {
  return {
    checkpoint: N(state.checkpoint),
    status: S(state.status),
    workflow_status: S(`${state.workflow_id}#${state.status}`),
    order_key: S(runOrderKey(state)),
    workflow_id: S(state.workflow_id),
    workflow_version: N(state.workflow_version),
    created_at: S(state.created_at),
    updated_at: S(state.updated_at),
  };
}

/** The numbers on a commit item: where it stands, and what was written since the latest snapshot. */
function commitAttributes(
  state: RunState,
  inboxCursor: number,
  counts: { since: number; bytes: number; snapshot: number },
): Item {
  return {
    c: N(state.checkpoint),
    s: N(state.seq),
    i: N(inboxCursor),
    n: N(state.completions.length),
    k: N(counts.since),
    b: N(counts.bytes),
    sb: N(counts.snapshot),
  };
}

function isCommit(item: Item): boolean {
  return string(item, 'sk').startsWith(COMMIT);
}

function commitOf(item: Item): Commit {
  const seqBefore = Number(string(item, 'sk').slice(COMMIT.length, COMMIT.length + 12));
  return { checkpoint: number(item, 'c'), seq: number(item, 's'), seq_before: seqBefore, item };
}

function tipOf(newest: Commit, run: Item | undefined): Tip {
  const item = newest.item;
  return {
    checkpoint: newest.checkpoint,
    seq: newest.seq,
    inbox_cursor: number(item, 'i'),
    // Unknown for a run moved from the previous layout whose state was a claim: forces a snapshot.
    completions: optionalNumber(item, 'n') ?? Number.MAX_SAFE_INTEGER,
    since: optionalNumber(item, 'k') ?? 0,
    since_bytes: optionalNumber(item, 'b') ?? 0,
    snapshot_bytes: optionalNumber(item, 'sb') ?? 0,
    listed_status: run ? (string(run, 'status') as RunStatus) : undefined,
  };
}

/**
 * One entry per run, its newest. The partitions are read one query each, not at one instant: a run
 * whose status changed between two of them (running, then waiting) is in both, and was listed twice
 * (the console drew two rows for it). Its entries share their order key, so sorted they are neighbours.
 */
function newestOfEachRun(sorted: Item[]): Item[] {
  const kept: Item[] = [];
  for (const item of sorted) {
    const last = kept.at(-1);
    if (last === undefined || string(last, 'order_key') !== string(item, 'order_key')) kept.push(item);
    else if (string(item, 'updated_at') > string(last, 'updated_at')) kept[kept.length - 1] = item;
  }
  return kept;
}

function summaryFrom(item: Item): RunSummary {
  return {
    id: string(item, 'pk'),
    workflow_id: string(item, 'workflow_id'),
    workflow_version: number(item, 'workflow_version'),
    status: string(item, 'status') as RunStatus,
    created_at: string(item, 'created_at'),
    updated_at: string(item, 'updated_at'),
  };
}
