/** The RunStore in memory: checkpointed states, the event log and the history, with the DynamoDB store's rules. */
import type { RunEvent, RunState, RunStatus, StepExecution, Transition } from '../../engine/types.js';
import { ConflictError, NotFoundError, StaleCheckpointError } from '../../errors.js';
import type { Page, PageRequest, RunListQuery, RunRecord, RunStore, RunSummary } from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { HistoryRows } from '../history.js';
import {
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
  runSummary,
  statusSet,
} from '../paging.js';
import { jsonCopy } from './json-copy.js';

interface StoredRun {
  state: RunState;
  inbox_cursor: number;
  task_token?: string;
  events: RunEvent[];
  history: HistoryRows;
}

export class MemoryRunStore implements RunStore {
  readonly #runs = new Map<string, StoredRun>();
  readonly #cursors: CursorCodec;

  constructor(cursors: CursorCodec) {
    this.#cursors = cursors;
  }

  async create(created: Transition): Promise<void> {
    const id = created.state.id;
    if (this.#runs.has(id)) throw new ConflictError(`Run '${id}' already exists`);
    const history = new HistoryRows();
    history.add(jsonCopy(created.history));
    this.#runs.set(id, {
      state: jsonCopy(created.state),
      inbox_cursor: 0,
      events: jsonCopy(created.events),
      history,
    });
  }

  async commit(transition: Transition, options: { inbox_cursor?: number } = {}): Promise<void> {
    const stored = this.#stored(transition.state.id);
    const expected = transition.state.checkpoint - 1;
    if (stored.state.checkpoint !== expected) throw new StaleCheckpointError(transition.state.id, expected);
    stored.state = jsonCopy(transition.state);
    stored.events.push(...jsonCopy(transition.events));
    stored.history.add(jsonCopy(transition.history));
    if (options.inbox_cursor !== undefined) stored.inbox_cursor = options.inbox_cursor;
  }

  async get(runId: string): Promise<RunRecord> {
    const stored = this.#stored(runId);
    const record: RunRecord = { state: jsonCopy(stored.state), inbox_cursor: stored.inbox_cursor };
    if (stored.task_token !== undefined) record.task_token = stored.task_token;
    return record;
  }

  async list(query: RunListQuery = {}): Promise<Page<RunSummary>> {
    const limit = pageLimit(query);
    const status = query.status === undefined ? undefined : checkStatus(query.status);
    const before = this.#before(runListScope(query), query.cursor);
    const { above, below } = runOrderWindow(query);
    const runs = [...this.#runs.values()]
      .map((r) => r.state)
      .filter((s) => query.workflow_id === undefined || s.workflow_id === query.workflow_id)
      .filter((s) => status === undefined || s.status === status)
      .filter((s) => {
        const key = runOrderKey(s);
        return (
          (above === undefined || compareKeys(key, above) > 0) &&
          (below === undefined || compareKeys(key, below) < 0)
        );
      });
    return this.#page(runs, before, limit, runListScope(query));
  }

  async listByStatus(statuses: readonly RunStatus[], page: PageRequest = {}): Promise<Page<RunSummary>> {
    const limit = pageLimit(page);
    const wanted = statusSet(statuses);
    const scope = runStatusScope(wanted);
    const before = this.#before(scope, page.cursor);
    const runs = [...this.#runs.values()].map((r) => r.state).filter((s) => wanted.includes(s.status));
    return this.#page(runs, before, limit, scope);
  }

  async idsInStatus(statuses: readonly RunStatus[]): Promise<string[]> {
    const wanted = statusSet(statuses);
    return [...this.#runs.values()].filter((r) => wanted.includes(r.state.status)).map((r) => r.state.id);
  }

  async events(
    runId: string,
    options?: EventsRequest,
  ): Promise<{ events: RunEvent[]; next_cursor?: string }> {
    const { after, limit } = eventsWindow(this.#cursors, runId, options);
    const events = this.#stored(runId).events.filter((e) => e.seq > after);
    return eventsPage(this.#cursors, runId, jsonCopy(events), limit);
  }

  /** Outputs of completions come back whole from `get`: nothing to read. */
  async readKept(output: unknown): Promise<unknown> {
    return output;
  }

  async history(runId: string): Promise<StepExecution[]> {
    return jsonCopy(this.#stored(runId).history.list());
  }

  async setTaskToken(
    runId: string,
    token: string | undefined,
    options: { ifCheckpoint?: number } = {},
  ): Promise<void> {
    const stored = this.#stored(runId);
    if (options.ifCheckpoint !== undefined && stored.state.checkpoint !== options.ifCheckpoint) {
      throw new StaleCheckpointError(runId, options.ifCheckpoint);
    }
    if (token === undefined) delete stored.task_token;
    else stored.task_token = token;
  }

  /**
   * A run as stored now, read synchronously (copies): for an in-process driver that looks between
   * turns of the event loop, such as the harness. NotFoundError for an unknown id.
   */
  inspect(runId: string): { state: RunState; events: RunEvent[]; history: StepExecution[] } {
    const stored = this.#stored(runId);
    return {
      state: jsonCopy(stored.state),
      events: jsonCopy(stored.events),
      history: jsonCopy(stored.history.list()),
    };
  }

  /** The ids of every stored run, oldest first. */
  ids(): string[] {
    return [...this.#runs.keys()];
  }

  #before(scope: unknown[], cursor: string | undefined): string | undefined {
    return cursor === undefined ? undefined : positionString(this.#cursors.decode(scope, cursor), 'before');
  }

  #page(runs: RunState[], before: string | undefined, limit: number, scope: unknown[]): Page<RunSummary> {
    const ordered = runs
      .map((state) => ({ key: runOrderKey(state), state }))
      .filter((r) => before === undefined || compareKeys(r.key, before) < 0)
      .sort((a, b) => compareKeys(b.key, a.key));
    const items = ordered.slice(0, limit).map((r) => runSummary(r.state));
    const page: Page<RunSummary> = { items };
    if (ordered.length > limit)
      page.next_cursor = this.#cursors.encode(scope, { before: ordered[limit - 1]!.key });
    return page;
  }

  #stored(runId: string): StoredRun {
    const stored = this.#runs.get(runId);
    if (!stored) throw new NotFoundError('Run', runId);
    return stored;
  }
}
