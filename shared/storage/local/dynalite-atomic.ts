/**
 * dynalite 4.0.0 writes an item and its secondary-index entries as separate LevelDB writes:
 * PutItem, UpdateItem, DeleteItem (and BatchWriteItem, through them) call
 * `db.updateIndexes(store, table, oldItem, newItem, cb)`, which deletes the old index entries and
 * puts the new ones one by one, and only in its callback `itemDb.put/del` the item. A process
 * killed in between left an index that disagrees with its item (a run listed `completed` by the
 * status index while its item said `running`; a queued run gone from the index).
 *
 * Here `updateIndexes` (looked up on dynalite's db module at every call, so replacing the export
 * reaches every caller) runs dynalite's own code against index databases that only record what it
 * would write; then, while its callback runs (the actions write the item synchronously inside it),
 * the item `put`/`del` of the same key on the store's root LevelDB database is turned into one
 * `batch()` of the index operations and the item operation: both are written or neither. Keys are
 * prefixed by dynalite's own sub-database wrappers (their `batch()` is captured, not reimplemented).
 * Reads and all other writes are untouched. This runs before any dynalite starts (so it survives
 * `npm ci`), checks the shapes it relies on, and proves on a throwaway in-memory dynalite store,
 * through dynalite's own actions, that each write is one batch: a change in dynalite that breaks it
 * stops the start with an error that says so.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

type Callback = (error?: Error | null) => void;

interface LevelOperation {
  type: 'put' | 'del';
  key: string;
  value?: unknown;
}

/** dynalite's root LevelDB database, as its db module wraps it (callback style, own methods). */
interface RootDb {
  put(key: string, value: unknown, callback?: Callback): unknown;
  del(key: string, callback?: Callback): unknown;
  batch(operations: LevelOperation[], callback?: Callback): unknown;
  [ATOMIC]?: true;
}

/** One of dynalite's prefixed sub-databases (items, one index, tables). */
interface SubDb {
  put(key: string, value: unknown, callback: Callback): void;
  del(key: string, callback: Callback): void;
  batch(operations: LevelOperation[], callback: Callback): void;
}

interface Store {
  db: RootDb;
  getItemDb(tableName: string): SubDb;
  getIndexDb(indexType: string, tableName: string, indexName: string): SubDb;
  tableDb: SubDb;
}

interface Table {
  TableName: string;
}

type UpdateIndexes = (store: Store, table: Table, existingItem: unknown, item: unknown, cb: Callback) => void;

interface DynaliteDbModule {
  create(options: object): Store;
  createKey(item: unknown, table: Table): string;
  updateIndexes: UpdateIndexes & { [ATOMIC]?: true };
}

type Action = (store: Store, data: object, cb: (error?: Error | null, result?: unknown) => void) => void;

const ATOMIC = Symbol.for('flowrunner.dynaliteAtomicIndexWrites');

function atomicCheckFailed(what: string): never {
  let version = 'unknown';
  try {
    version = String((requireHere('dynalite/package.json') as { version: unknown }).version);
  } catch {}
  throw new Error(
    `dynalite ${version}: cannot write an item and its index entries atomically (${what}). shared/storage/local/dynalite-atomic.ts works around dynalite 4.0.0 writing them separately; check what changed in dynalite and update the workaround.`,
  );
}

function dynaliteDbModule(): DynaliteDbModule {
  const db = createRequire(requireHere.resolve('dynalite'))('./db') as Partial<DynaliteDbModule>;
  if (
    typeof db.create !== 'function' ||
    typeof db.createKey !== 'function' ||
    typeof db.updateIndexes !== 'function'
  ) {
    atomicCheckFailed('its db module no longer exports create(), createKey() and updateIndexes()');
  }
  return db as DynaliteDbModule;
}

/**
 * The operations a sub-database's `batch()` hands to the root database: dynalite's wrapper
 * prefixes the keys and calls the root's `batch()` synchronously, where they are caught (and not
 * written). Synchronous, so nothing else can use the root's `batch()` meanwhile.
 */
function prefixed(root: RootDb, subDb: SubDb, operations: LevelOperation[]): LevelOperation[] {
  if (!Object.hasOwn(root, 'batch')) atomicCheckFailed('its root database has no batch() of its own');
  const batch = root.batch;
  let caught: LevelOperation[] | undefined;
  root.batch = (ops) => {
    caught = ops;
  };
  try {
    subDb.batch(operations, () => {});
  } finally {
    root.batch = batch;
  }
  if (!caught || caught.length !== operations.length) {
    atomicCheckFailed("a sub-database's batch() no longer reaches the root database's batch() at once");
  }
  return caught;
}

/** The item write that is due now (while updateIndexes' callback runs), with its index operations. */
let pending: { root: RootDb; key: string; type: 'put' | 'del'; indexOps: LevelOperation[] } | undefined;

/** Turns the root database's put/del of the pending item into one batch with its index operations. */
function patchRoot(root: RootDb): void {
  if (root[ATOMIC]) return;
  if (!Object.hasOwn(root, 'put') || !Object.hasOwn(root, 'del') || !Object.hasOwn(root, 'batch')) {
    atomicCheckFailed('its root database no longer has its own callback put(), del() and batch()');
  }
  const { put, del } = root;
  root.put = function (this: RootDb, key, value, callback) {
    const due = pending;
    if (due?.root === this && due.type === 'put' && due.key === key) {
      pending = undefined;
      return this.batch([...due.indexOps, { type: 'put', key, value }], callback);
    }
    return put.call(this, key, value, callback);
  };
  root.del = function (this: RootDb, key, callback) {
    const due = pending;
    if (due?.root === this && due.type === 'del' && due.key === key) {
      pending = undefined;
      return this.batch([...due.indexOps, { type: 'del', key }], callback);
    }
    return del.call(this, key, callback);
  };
  Object.defineProperty(root, ATOMIC, { configurable: true, value: true });
}

function atomicUpdateIndexes(original: UpdateIndexes, db: DynaliteDbModule): UpdateIndexes {
  return function updateIndexes(store, table, existingItem, item, cb) {
    if (!existingItem && !item) return original(store, table, existingItem, item, cb);
    // dynalite's own code decides the index operations; the index databases only record them.
    const recorded: Array<{ subDb: SubDb; op: LevelOperation }> = [];
    const recording = (subDb: SubDb): SubDb => ({
      put(key, value, callback) {
        recorded.push({ subDb, op: { type: 'put', key, value } });
        setImmediate(callback, null);
      },
      del(key, callback) {
        recorded.push({ subDb, op: { type: 'del', key } });
        setImmediate(callback, null);
      },
      batch() {
        atomicCheckFailed('updateIndexes() writes its index entries with batch()');
      },
    });
    const staging: Store = Object.create(store, {
      getIndexDb: {
        value: (indexType: string, tableName: string, indexName: string) =>
          recording(store.getIndexDb(indexType, tableName, indexName)),
      },
    });
    original(staging, table, existingItem, item, (error) => {
      if (error) return cb(error);
      let indexOps: LevelOperation[];
      let itemKey: string;
      try {
        const root = store.db;
        patchRoot(root);
        // dynalite deletes old entries before it puts new ones; one batch keeps that order.
        const ordered = [
          ...recorded.filter((r) => r.op.type === 'del'),
          ...recorded.filter((r) => r.op.type === 'put'),
        ];
        indexOps = ordered.flatMap(({ subDb, op }) => prefixed(root, subDb, [op]));
        const type = item ? 'put' : 'del';
        const key = db.createKey(item ?? existingItem, table);
        const [itemOp] = prefixed(root, store.getItemDb(table.TableName), [{ type, key }]);
        if (!itemOp) atomicCheckFailed('the item operation was not captured');
        itemKey = itemOp.key;
        pending = { root, key: itemKey, type, indexOps };
      } catch (failure) {
        return cb(failure as Error);
      }
      try {
        cb(null);
      } finally {
        // The caller wrote its item synchronously in the callback, which took the operations along.
        // If it did not (dynalite changed; the proof at start catches that), write them as dynalite did.
        if (pending?.key === itemKey && pending.root === store.db) {
          pending = undefined;
          process.emitWarning(
            `dynalite did not write item ${itemKey} within updateIndexes' callback: its index entries are written separately (see shared/storage/local/dynalite-atomic.ts)`,
          );
          if (indexOps.length > 0) store.db.batch(indexOps, () => {});
        }
      }
    });
  };
}

/**
 * Writes through dynalite's own PutItem, UpdateItem and DeleteItem on a throwaway in-memory store
 * and fails unless each one reaches the database as exactly one batch holding the item and its
 * index entries, and nothing else.
 */
async function proveItemAndIndexesWriteTogether(db: DynaliteDbModule): Promise<void> {
  const fromDynalite = createRequire(requireHere.resolve('dynalite'));
  const action = (name: string) => {
    const loaded = fromDynalite(`./actions/${name}`) as unknown;
    if (typeof loaded !== 'function') atomicCheckFailed(`its ${name} action is gone`);
    return loaded as Action;
  };
  const run = (act: Action, store: Store, data: object) =>
    new Promise<void>((resolve, reject) => act(store, data, (error) => (error ? reject(error) : resolve())));
  const store = db.create({});
  const TableName = 'probe';
  const table = {
    TableName,
    TableStatus: 'ACTIVE',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'status', AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'by_status',
        KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  };
  const root = store.db;
  const writes: string[][] = [];
  const { put, del, batch } = root;
  root.put = function (key, value, callback) {
    writes.push([`put ${key}`]);
    return put.call(this, key, value, callback);
  };
  root.del = function (key, callback) {
    writes.push([`del ${key}`]);
    return del.call(this, key, callback);
  };
  root.batch = function (operations, callback) {
    writes.push(operations.map((op) => `${op.type} ${op.key}`));
    return batch.call(this, operations, callback);
  };
  const expectOneBatch = (what: string, ops: string[]) => {
    const seen = writes.splice(0);
    const [only] = seen;
    if (seen.length !== 1 || only?.length !== ops.length || !ops.every((op, i) => only[i]?.startsWith(op))) {
      atomicCheckFailed(`${what} wrote ${JSON.stringify(seen)}, not one batch of ${ops.join(', ')}`);
    }
  };
  try {
    await new Promise<void>((resolve, reject) =>
      store.tableDb.put(TableName, table, (error) => (error ? reject(error) : resolve())),
    );
    writes.length = 0;
    await run(action('putItem'), store, { TableName, Item: { pk: { S: 'a' }, status: { S: 'queued' } } });
    expectOneBatch('a PutItem', ['put index-global~probe~by_status~', 'put item-probe~']);
    await run(action('updateItem'), store, {
      TableName,
      Key: { pk: { S: 'a' } },
      AttributeUpdates: { status: { Action: 'PUT', Value: { S: 'running' } } },
    });
    expectOneBatch('an UpdateItem', [
      'del index-global~probe~by_status~',
      'put index-global~probe~by_status~',
      'put item-probe~',
    ]);
    await run(action('deleteItem'), store, { TableName, Key: { pk: { S: 'a' } } });
    expectOneBatch('a DeleteItem', ['del index-global~probe~by_status~', 'del item-probe~']);
    // An item without index entries is written as before.
    await run(action('putItem'), store, { TableName, Item: { pk: { S: 'b' } } });
    expectOneBatch('a PutItem without index keys', ['put item-probe~']);
  } finally {
    await (root as unknown as { close(): Promise<void> }).close();
  }
}

let atomic: Promise<void> | undefined;

/** Makes every item write one batch with its index entries, once per process (see above); startDynalite awaits it. */
export function makeDynaliteIndexWritesAtomic(): Promise<void> {
  atomic ??= Promise.resolve().then(async () => {
    const db = dynaliteDbModule();
    if (!db.updateIndexes[ATOMIC]) {
      const patched = Object.assign(atomicUpdateIndexes(db.updateIndexes, db), { [ATOMIC]: true as const });
      db.updateIndexes = patched;
    }
    await proveItemAndIndexesWriteTogether(db);
  });
  return atomic;
}
