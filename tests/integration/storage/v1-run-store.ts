/**
 * THE PREVIOUS LAYOUT, kept only to write test data as the released code did (commit 79eaa89,
 * shared/storage/dynamodb/runs.ts, unchanged but for its imports and class name): the migration
 * test stores runs with it and reads them with today's store.
 *
 * The RunStore on DynamoDB, at one write per transition in the common case.
 *
 * The run item (`pk = <run id>, sk = run`) is the single point of truth: it holds the checkpointed
 * state and a journal (`j`), a map of the transitions not yet moved out, each with its events and
 * history patches. A commit is one conditional UpdateItem (`checkpoint = N-1`), which stores the
 * state and adds the transition to the journal at once, so a transition is either fully recorded
 * or not at all, and two processes can never both win a checkpoint.
 *
 * When the journal grows past `journalFlushBytes` (or the item nears 400 KB), the commit first
 * copies the journal as it stands to a chunk item (`sk = j#<last seq>#<last checkpoint>`) and then
 * replaces it by the new transition alone, in the same conditional update: two writes, at most.
 * Chunks only ever hold committed transitions, and a chunk's key names exactly what it holds, so
 * writing one twice, or by a process that then loses the race, is harmless; readers merge chunks
 * and journal by checkpoint.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type {
  RunEvent,
  RunState,
  RunStatus,
  StepExecution,
  Transition,
} from '../../../shared/engine/types.js';
import { ConflictError, NotFoundError, StaleCheckpointError, StorageError } from '../../../shared/errors.js';
import type {
  LargePayloads,
  Page,
  PageRequest,
  RunListQuery,
  RunRecord,
  RunStore,
  RunSummary,
} from '../../../shared/ports/index.js';
import { type CursorCodec, positionString } from '../../../shared/storage/cursor.js';
import {
  type Item,
  json,
  N,
  number,
  optionalString,
  padded,
  S,
  string,
  stringList,
  stringMap,
  textBytes,
} from '../../../shared/storage/dynamodb/attributes.js';
import { Table } from '../../../shared/storage/dynamodb/table.js';
import { INDEXES } from '../../../shared/storage/dynamodb/tables.js';
import { HistoryRows } from '../../../shared/storage/history.js';
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
  runStatusScope,
  statusSet,
} from '../../../shared/storage/paging.js';

/** Journal size after which a commit moves the journal to a chunk item first (see docs/storage.md). */
export const DEFAULT_JOURNAL_FLUSH_BYTES = 4 * 1024;
/** What a run item may hold in state and journal: DynamoDB's 400 KB less room for keys and attributes. */
const ITEM_BUDGET_BYTES = 380 * 1024;
/** Journals this process knows (the run item as it last read or wrote it), so commits need no read. */
const MAX_KNOWN_JOURNALS = 500;

const RUN = 'run';
const CHUNK_PREFIX = 'j#';

const runKey = (runId: string): Item => ({ pk: S(runId), sk: S(RUN) });
const entryName = (checkpoint: number) => `c${padded(checkpoint)}`;

/** One transition in the journal or a chunk, as stored (JSON text of StoredEntry). */
interface JournalEntry {
  checkpoint: number;
  /** The run's seq after the transition: its events end here. */
  seq: number;
  /** The seq of its first event (seq + 1 when it has none). */
  first: number;
  text: string;
}

interface StoredEntry {
  c: number;
  s: number;
  f: number;
  /** Events and history patches, after offloading large parts. */
  p: unknown;
}

interface EntryPayload {
  e: RunEvent[];
  h: StepExecution[];
}

/** The journal held by the run item at `checkpoint`, oldest transition first. */
interface Journal {
  checkpoint: number;
  entries: JournalEntry[];
  bytes: number;
}

export interface DynamoDbRunStoreOptions {
  client: DynamoDBClient;
  table: string;
  cursors: CursorCodec;
  /** Claim checks for large states, events and outputs; without it an oversized run fails with ItemTooLarge. */
  largePayloads?: LargePayloads;
  /** Move the journal to a chunk item once it would grow past this many bytes (default 4 KB). */
  journalFlushBytes?: number;
}

export class V1DynamoDbRunStore implements RunStore {
  readonly #table: Table;
  readonly #cursors: CursorCodec;
  readonly #payloads: LargePayloads | undefined;
  readonly #flushBytes: number;
  readonly #journals = new Map<string, Journal>();

  constructor(options: DynamoDbRunStoreOptions) {
    this.#table = new Table(options.client, options.table);
    this.#cursors = options.cursors;
    this.#payloads = options.largePayloads;
    this.#flushBytes = options.journalFlushBytes ?? DEFAULT_JOURNAL_FLUSH_BYTES;
  }

  async create(created: Transition): Promise<void> {
    const state = created.state;
    const stateText = await this.#stateText(state);
    const entry = await this.#entry(state, created);
    this.#checkSize(state.id, stateText, textBytes(entry.text));
    const { applied } = await this.#table.put({
      Item: {
        ...runKey(state.id),
        ...runAttributes(state),
        state: S(stateText),
        inbox_cursor: N(0),
        j: { M: { [entryName(entry.checkpoint)]: S(entry.text) } },
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (!applied) throw new ConflictError(`Run '${state.id}' already exists`);
    this.#remember(state.id, {
      checkpoint: state.checkpoint,
      entries: [entry],
      bytes: textBytes(entry.text),
    });
  }

  async commit(transition: Transition, options: { inbox_cursor?: number } = {}): Promise<void> {
    const state = transition.state;
    const runId = state.id;
    const expected = state.checkpoint - 1;
    const stateText = await this.#stateText(state);
    const entry = await this.#entry(state, transition);
    const journal = await this.#journal(runId, expected);
    const entryBytes = textBytes(entry.text);
    const stateBytes = textBytes(stateText);
    const flush =
      journal.entries.length > 0 &&
      (journal.bytes + entryBytes > this.#flushBytes ||
        stateBytes + journal.bytes + entryBytes > ITEM_BUDGET_BYTES);
    this.#checkSize(runId, stateText, entryBytes + (flush ? 0 : journal.bytes));
    if (flush) await this.#writeChunk(runId, journal);

    const values: Item = {
      ':expected': N(expected),
      ':state': S(stateText),
      ...runValues(state),
    };
    const sets = [
      '#state = :state',
      'checkpoint = :checkpoint',
      'seq = :seq',
      '#status = :status',
      'workflow_status = :workflow_status',
      'updated_at = :updated_at',
    ];
    const names: Record<string, string> = { '#state': 'state', '#status': 'status' };
    if (options.inbox_cursor !== undefined) {
      sets.push('inbox_cursor = :inbox_cursor');
      values[':inbox_cursor'] = N(options.inbox_cursor);
    }
    if (flush) {
      sets.push('j = :journal');
      values[':journal'] = { M: { [entryName(entry.checkpoint)]: S(entry.text) } };
    } else {
      sets.push('j.#entry = :entry');
      names['#entry'] = entryName(entry.checkpoint);
      values[':entry'] = S(entry.text);
    }
    const { applied } = await this.#table.update({
      Key: runKey(runId),
      UpdateExpression: `SET ${sets.join(', ')}`,
      ConditionExpression: 'checkpoint = :expected',
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    });
    if (!applied) {
      this.#journals.delete(runId);
      throw await this.#refusal(runId, expected);
    }
    this.#remember(
      runId,
      flush
        ? { checkpoint: state.checkpoint, entries: [entry], bytes: entryBytes }
        : {
            checkpoint: state.checkpoint,
            entries: [...journal.entries, entry],
            bytes: journal.bytes + entryBytes,
          },
    );
  }

  async get(runId: string): Promise<RunRecord> {
    const item = await this.#table.get(runKey(runId));
    if (!item) throw new NotFoundError('Run', runId);
    const checkpoint = number(item, 'checkpoint');
    this.#remember(runId, journalFrom(item, checkpoint));
    const state = (await this.#restore(json<unknown>(item, 'state'))) as RunState;
    const record: RunRecord = { state, inbox_cursor: number(item, 'inbox_cursor') };
    const token = optionalString(item, 'task_token');
    if (token !== undefined) record.task_token = token;
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
    return this.#merged(partitions, before, limit, scope);
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
    // The run item first: a flush writes its chunk before it empties the journal, so whatever moves
    // between the two reads is found in a chunk.
    const journal = await this.#storedJournal(runId);
    const found = new Map<number, RunEvent>();
    const take = async (entries: JournalEntry[]) => {
      for (const entry of entries) {
        if (found.size > limit) return;
        if (entry.seq <= after) continue;
        for (const event of (await this.#payload(entry)).e)
          if (event.seq > after) found.set(event.seq, event);
      }
    };
    const journalFrom = journal.entries[0]?.first ?? Number.POSITIVE_INFINITY;
    if (after + 1 < journalFrom) {
      // Chunks whose last seq is above `after`, oldest first. Together they cover every seq up to the
      // last one read without a gap (a chunk is always a whole journal), so reading can stop as soon
      // as they reach a page and one more.
      const chunks = await this.#table.query(
        {
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': S(runId),
            ':from': S(`${CHUNK_PREFIX}${padded(after)}#~`),
            ':to': S(`${CHUNK_PREFIX}~`),
          },
          Limit: 8,
        },
        (read) => chunkLastSeq(read.at(-1)!) - after > limit,
      );
      for (const chunk of chunks) await take(chunkEntries(chunk));
    }
    await take(journal.entries);
    const events = [...found.values()].sort((a, b) => a.seq - b.seq);
    return eventsPage(this.#cursors, runId, events, limit);
  }

  /** Outputs of completions come back whole from `get`: nothing to read. */
  async readKept(output: unknown): Promise<unknown> {
    return output;
  }

  async history(runId: string): Promise<StepExecution[]> {
    const journal = await this.#storedJournal(runId);
    const chunks = await this.#table.query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': S(runId), ':prefix': S(CHUNK_PREFIX) },
    });
    const entries = new Map<number, JournalEntry>();
    for (const entry of [...chunks.flatMap(chunkEntries), ...journal.entries])
      entries.set(entry.checkpoint, entry);
    const rows = new HistoryRows();
    for (const entry of [...entries.values()].sort((a, b) => a.checkpoint - b.checkpoint)) {
      rows.add((await this.#payload(entry)).h);
    }
    return rows.list();
  }

  async setTaskToken(
    runId: string,
    token: string | undefined,
    options: { ifCheckpoint?: number } = {},
  ): Promise<void> {
    const checkpoint = options.ifCheckpoint;
    const { applied } = await this.#table.update({
      Key: runKey(runId),
      UpdateExpression: token === undefined ? 'REMOVE task_token' : 'SET task_token = :token',
      ConditionExpression:
        checkpoint === undefined
          ? 'attribute_exists(pk)'
          : 'attribute_exists(pk) AND checkpoint = :checkpoint',
      ...(token === undefined && checkpoint === undefined
        ? {}
        : {
            ExpressionAttributeValues: {
              ...(token === undefined ? {} : { ':token': S(token) }),
              ...(checkpoint === undefined ? {} : { ':checkpoint': N(checkpoint) }),
            },
          }),
    });
    if (!applied) {
      throw checkpoint === undefined
        ? new NotFoundError('Run', runId)
        : await this.#refusal(runId, checkpoint);
    }
  }

  /** The journal at `expected`: known from this process's last read or write, else read. */
  async #journal(runId: string, expected: number): Promise<Journal> {
    const known = this.#journals.get(runId);
    if (known?.checkpoint === expected) return known;
    const item = await this.#table.get(runKey(runId), 'checkpoint, j');
    if (!item) throw new NotFoundError('Run', runId);
    const journal = journalFrom(item, number(item, 'checkpoint'));
    this.#remember(runId, journal);
    if (journal.checkpoint !== expected) throw new StaleCheckpointError(runId, expected);
    return journal;
  }

  async #storedJournal(runId: string): Promise<Journal> {
    const item = await this.#table.get(runKey(runId), 'checkpoint, j');
    if (!item) throw new NotFoundError('Run', runId);
    return journalFrom(item, number(item, 'checkpoint'));
  }

  #remember(runId: string, journal: Journal): void {
    this.#journals.delete(runId);
    this.#journals.set(runId, journal);
    if (this.#journals.size > MAX_KNOWN_JOURNALS) this.#journals.delete(this.#journals.keys().next().value!);
  }

  async #writeChunk(runId: string, journal: Journal): Promise<void> {
    const last = journal.entries.at(-1)!;
    await this.#table.put({
      Item: {
        pk: S(runId),
        sk: S(`${CHUNK_PREFIX}${padded(last.seq)}#${padded(last.checkpoint)}`),
        entries: { L: journal.entries.map((entry) => S(entry.text)) },
      },
    });
  }

  /** Why a conditional write on the run item was refused: the run is unknown, or at another checkpoint. */
  async #refusal(runId: string, expected: number): Promise<Error> {
    const item = await this.#table.get(runKey(runId), 'checkpoint');
    return item ? new StaleCheckpointError(runId, expected) : new NotFoundError('Run', runId);
  }

  #checkSize(runId: string, stateText: string, journalBytes: number): void {
    const bytes = textBytes(stateText) + journalBytes;
    if (bytes > ITEM_BUDGET_BYTES) {
      throw new StorageError(
        'ItemTooLarge',
        `Run ${runId} needs ${bytes} bytes in one DynamoDB item (limit ${ITEM_BUDGET_BYTES}): ` +
          'configure large payloads (claim checks) so big values move to S3',
        { details: { run_id: runId, bytes } },
      );
    }
  }

  async #stateText(state: RunState): Promise<string> {
    return JSON.stringify(this.#payloads ? await this.#payloads.offload(state.id, state) : state);
  }

  async #entry(state: RunState, transition: Transition): Promise<JournalEntry> {
    const payload: EntryPayload = { e: transition.events, h: transition.history };
    const first = state.seq - transition.events.length + 1;
    const stored: StoredEntry = {
      c: state.checkpoint,
      s: state.seq,
      f: first,
      p: this.#payloads ? await this.#payloads.offload(state.id, payload) : payload,
    };
    return { checkpoint: state.checkpoint, seq: state.seq, first, text: JSON.stringify(stored) };
  }

  async #payload(entry: JournalEntry): Promise<EntryPayload> {
    const stored = JSON.parse(entry.text) as StoredEntry;
    return (await this.#restore(stored.p)) as EntryPayload;
  }

  async #restore(value: unknown): Promise<unknown> {
    return this.#payloads ? this.#payloads.restore(value) : value;
  }

  #before(scope: unknown[], cursor: string | undefined): string | undefined {
    return cursor === undefined ? undefined : positionString(this.#cursors.decode(scope, cursor), 'before');
  }

  /** The newest `limit` runs before the cursor across index partitions that are each newest first. */
  async #merged(
    partitions: Array<{ index: string; key: string; value: string }>,
    before: string | undefined,
    limit: number,
    scope: unknown[],
  ): Promise<Page<RunSummary>> {
    const pages = await Promise.all(
      partitions.map((partition) =>
        this.#table.query(
          {
            IndexName: partition.index,
            KeyConditionExpression: before === undefined ? '#p = :p' : '#p = :p AND order_key < :before',
            ExpressionAttributeNames: { '#p': partition.key },
            ExpressionAttributeValues: {
              ':p': S(partition.value),
              ...(before === undefined ? {} : { ':before': S(before) }),
            },
            ScanIndexForward: false,
            Limit: limit + 1,
          },
          (items) => items.length > limit,
        ),
      ),
    );
    const ordered = pages.flat().sort((a, b) => compareKeys(string(b, 'order_key'), string(a, 'order_key')));
    const items = ordered.slice(0, limit).map(summaryFrom);
    const page: Page<RunSummary> = { items };
    if (ordered.length > limit) {
      page.next_cursor = this.#cursors.encode(scope, { before: string(ordered[limit - 1]!, 'order_key') });
    }
    return page;
  }
}

/** The attributes of a run item that its indexes and summaries read. */
function runAttributes(state: RunState): Item {
  return {
    checkpoint: N(state.checkpoint),
    seq: N(state.seq),
    status: S(state.status),
    workflow_status: S(`${state.workflow_id}#${state.status}`),
    order_key: S(runOrderKey(state)),
    workflow_id: S(state.workflow_id),
    workflow_version: N(state.workflow_version),
    created_at: S(state.created_at),
    updated_at: S(state.updated_at),
  };
}

/** The same, as update values (`:checkpoint`, …), for what a commit changes. */
function runValues(state: RunState): Item {
  return {
    ':checkpoint': N(state.checkpoint),
    ':seq': N(state.seq),
    ':status': S(state.status),
    ':workflow_status': S(`${state.workflow_id}#${state.status}`),
    ':updated_at': S(state.updated_at),
  };
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

function parseEntry(text: string): JournalEntry {
  const stored = JSON.parse(text) as StoredEntry;
  return { checkpoint: stored.c, seq: stored.s, first: stored.f, text };
}

function journalFrom(item: Item, checkpoint: number): Journal {
  const entries = [...stringMap(item, 'j').values()]
    .map(parseEntry)
    .sort((a, b) => a.checkpoint - b.checkpoint);
  return { checkpoint, entries, bytes: entries.reduce((sum, entry) => sum + textBytes(entry.text), 0) };
}

/** A chunk's key names the last seq it holds: `j#<seq>#<checkpoint>`. */
function chunkLastSeq(item: Item): number {
  return Number(string(item, 'sk').slice(CHUNK_PREFIX.length).split('#')[0]);
}

function chunkEntries(item: Item): JournalEntry[] {
  return stringList(item, 'entries').map(parseEntry);
}
