/**
 * dynalite (DynamoDB in Node, on LevelDB) started in-process, and the DynamoDB client that talks to
 * it, so the production DynamoDB adapters run unchanged on one machine.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigurationError } from '../../errors.js';
import { foreignRequest, localHosts } from '../../net/local-hosts.js';
import { createDynamoDbClient } from '../dynamodb/client.js';
import { makeDynaliteIndexWritesAtomic } from './dynalite-atomic.js';
import { capDynaliteReadBatches } from './dynalite-read-batches.js';

/** The part of dynalite's options (it ships no types) that is used here. */
interface DynaliteOptions {
  path?: string;
  createTableMs: number;
  deleteTableMs: number;
  updateTableMs: number;
}

const requireHere = createRequire(import.meta.url);
// dynalite is CommonJS without types; loading it through require keeps the typing in this file.
const dynalite = requireHere('dynalite') as (options: DynaliteOptions) => Server;

/**
 * dynalite 4.0.0 leaks an open LevelDB iterator for every Query, Scan and ListTables: it reads
 * through a `Readable` over `db.keys()`/`db.values()` whose `destroy()` closes the iterator with
 * `iterator.return()` when there is one, and abstract-level's iterators (level 10, memory-level 3)
 * have no `return()`, only `close()`. Nothing else closes them, so every read left one or two
 * iterators (on disk, a value iterator and the entry iterator under it) attached to the database
 * until it closed: a GET /v1/executions left 14, about 16 KB of heap, and on disk native LevelDB
 * iterators that pin their snapshots (RSS grew ~65 KB per request, ~30 KB per run). Here the
 * iterator class dynalite uses (the one abstract-level base class of all its iterators; nothing
 * else in the process uses abstract-level) gets the
 * `return()` of the async iterator protocol, which closes it: dynalite's own `destroy()` then
 * closes it, at the end of a read and when a read stops at its Limit. This runs before any dynalite
 * starts (so it survives `npm ci`, unlike an edit in node_modules), checks the shapes it relies on,
 * and then proves on a throwaway in-memory dynalite database that a finished read leaves no
 * resource open: any change in dynalite or abstract-level that breaks it stops the start with an
 * error that says so, rather than leaking quietly again. If dynalite fixes the leak itself, the
 * proof still passes and the `return()` is merely unused.
 */
const CLOSES_ON_RETURN = Symbol.for('flowrunner.levelIteratorClosesOnReturn');
/** Set on an iterator once `return()` closed it: its later reads end instead of failing. */
const RETURNED = Symbol.for('flowrunner.levelIteratorReturned');

interface ClosableIterator {
  [RETURNED]?: true;
  db?: { status?: string };
}

function isNotOpen(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'LEVEL_ITERATOR_NOT_OPEN';
}

interface LevelIteratorPrototype {
  next: unknown;
  close: unknown;
  return?: unknown;
  [CLOSES_ON_RETURN]?: true;
}

/** A class, as loaded from a CommonJS module without types. */
type Class = abstract new (...args: never[]) => object;

/** The parts of abstract-level (no types in dynalite's tree) that the patch and its proof use. */
interface AbstractLevelModule {
  AbstractLevel: Class;
  AbstractIterator: Class;
  AbstractKeyIterator: Class;
  AbstractValueIterator: Class;
}

/** A store of dynalite's `db` module (db/index.js), as far as the proof uses it. */
interface DynaliteStore {
  db: {
    attachResource(resource: object): void;
    detachResource(resource: object): void;
    close(): Promise<void>;
  };
  getItemDb(name: string): {
    put(key: string, value: unknown, callback: (error?: Error | null) => void): void;
    createValueStream(options: object): NodeJS.ReadableStream & { destroy(): void };
  };
}
interface DynaliteDbModule {
  create(options: object): DynaliteStore;
  lazy(stream: NodeJS.ReadableStream, onError: (error: Error) => void): LazyStream;
}
interface LazyStream {
  take(n: number): LazyStream;
  join(f: (items: unknown[]) => void): void;
}

function leakCheckFailed(what: string): never {
  let version = 'unknown';
  try {
    version = String((requireHere('dynalite/package.json') as { version: unknown }).version);
  } catch {}
  throw new Error(
    `dynalite ${version}: cannot close its LevelDB iterators (${what}). shared/storage/local/dynalite.ts works around dynalite 4.0.0 leaking one per Query and Scan; check what changed in dynalite or abstract-level and update the workaround.`,
  );
}

/** The copies of abstract-level that dynalite's two backends (on disk: level → classic-level; in memory: memory-level) are built on. */
function abstractLevelsOfDynalite(): AbstractLevelModule[] {
  const fromDynalite = createRequire(requireHere.resolve('dynalite'));
  const fromLevel = createRequire(fromDynalite.resolve('level'));
  const backends = [
    {
      name: 'level',
      backend: (fromDynalite('level') as { Level?: Class }).Level,
      from: createRequire(fromLevel.resolve('classic-level')),
    },
    {
      name: 'memory-level',
      backend: (fromDynalite('memory-level') as { MemoryLevel?: Class }).MemoryLevel,
      from: createRequire(fromDynalite.resolve('memory-level')),
    },
  ];
  const modules = new Set<AbstractLevelModule>();
  for (const { name, backend, from } of backends) {
    const module = from('abstract-level') as Partial<AbstractLevelModule>;
    if (
      typeof backend !== 'function' ||
      typeof module.AbstractLevel !== 'function' ||
      !(backend.prototype instanceof module.AbstractLevel)
    ) {
      leakCheckFailed(`its ${name} database is no abstract-level database any more`);
    }
    modules.add(module as AbstractLevelModule);
  }
  return [...modules];
}

/** Gives the iterators of every abstract-level copy under dynalite a `return()` that closes them. */
function patchIteratorReturn(): void {
  for (const module of abstractLevelsOfDynalite()) {
    // AbstractIterator, AbstractKeyIterator and AbstractValueIterator share one base class (not
    // exported) that has next() and close(): the backends' iterators all extend one of the three.
    const bases = new Set(
      [module.AbstractIterator, module.AbstractKeyIterator, module.AbstractValueIterator].map((c: unknown) =>
        typeof c === 'function' ? Object.getPrototypeOf(c.prototype) : undefined,
      ),
    );
    const base = [...bases][0] as LevelIteratorPrototype | undefined;
    if (
      bases.size !== 1 ||
      !base ||
      !Object.hasOwn(base, 'next') ||
      !Object.hasOwn(base, 'close') ||
      typeof base.next !== 'function' ||
      typeof base.close !== 'function'
    ) {
      leakCheckFailed("abstract-level's iterators no longer share a base class with next() and close()");
    }
    // Ours already (another copy of this module ran), or abstract-level's own: the proof checks it closes.
    if (base[CLOSES_ON_RETURN] || 'return' in base) continue;
    // dynalite's stream may still ask for the next item after its iterator was closed: by its
    // destroy() (a read scheduled before it) or by the database closing under it (the server
    // stopping with a request in flight). abstract-level rejects that read, and the stream,
    // destroyed already, emits the error with nobody listening: an uncaught exception that stops
    // the process. Such a read ends the stream instead.
    const next = base.next as (this: object, ...args: unknown[]) => Promise<unknown>;
    Object.defineProperties(base, {
      next: {
        configurable: true,
        writable: true,
        value: function (this: ClosableIterator, ...args: unknown[]) {
          if (this[RETURNED]) return Promise.resolve(undefined);
          return next.apply(this, args).catch((error: unknown) => {
            if (isNotOpen(error) && (this[RETURNED] || this.db?.status !== 'open')) return undefined;
            throw error;
          });
        },
      },
      return: {
        configurable: true,
        writable: true,
        value: async function (this: { close(): Promise<void>; [RETURNED]?: true }, value?: unknown) {
          this[RETURNED] = true;
          await this.close();
          return { done: true, value };
        },
      },
      [CLOSES_ON_RETURN]: { configurable: true, value: true },
    });
  }
}

/**
 * Reads through dynalite's own stream code on a throwaway in-memory database, to the end and
 * stopped early (as a Query stops at its Limit), and fails when a read leaves a resource (an
 * iterator) attached to the database. A destroyed stream emits 'close' only after dynalite's
 * `destroy()` has awaited `return()`, so the check needs no waiting; only a stream that is never
 * destroyed (dynalite changed how it ends reads) is given up on after a while, as a failure.
 */
async function proveReadsCloseIterators(): Promise<void> {
  const db = createRequire(requireHere.resolve('dynalite'))('./db') as Partial<DynaliteDbModule>;
  if (typeof db.create !== 'function' || typeof db.lazy !== 'function') {
    leakCheckFailed('its db module no longer exports create() and lazy()');
  }
  const store = db.create({});
  const open = new Set<object>();
  let attached = 0;
  const { attachResource, detachResource } = store.db;
  if (typeof attachResource !== 'function' || typeof detachResource !== 'function') {
    leakCheckFailed('its database does not track resources as abstract-level does');
  }
  store.db.attachResource = function (resource) {
    open.add(resource);
    attached++;
    attachResource.call(this, resource);
  };
  store.db.detachResource = function (resource) {
    open.delete(resource);
    detachResource.call(this, resource);
  };
  try {
    const items = store.getItemDb('probe');
    for (const key of ['a', 'b', 'c']) {
      await new Promise<void>((resolve, reject) =>
        items.put(key, { key: { S: key } }, (error) => (error ? reject(error) : resolve())),
      );
    }
    for (const take of [Number.POSITIVE_INFINITY, 1]) {
      const stream = items.createValueStream({});
      let giveUp: NodeJS.Timeout | undefined;
      const closed = new Promise<void>((resolve, reject) => {
        stream.once('close', () => resolve());
        giveUp = setTimeout(() => {
          try {
            leakCheckFailed('a finished read never destroyed its stream');
          } catch (error) {
            reject(error);
          }
        }, 10_000);
      });
      const read = await new Promise<unknown[]>((resolve, reject) => {
        const lazy = db.lazy!(stream, reject);
        (take === Number.POSITIVE_INFINITY ? lazy : lazy.take(take)).join(resolve);
      });
      if (read.length !== Math.min(take, 3)) leakCheckFailed(`a read of 3 items gave ${read.length}`);
      await closed.finally(() => clearTimeout(giveUp));
      if (open.size > 0) {
        leakCheckFailed(
          `${open.size} resource(s) still open after a read ${take === 1 ? 'stopped early' : 'to the end'}`,
        );
      }
    }
    if (attached === 0) leakCheckFailed('its reads no longer go through abstract-level iterators');
  } finally {
    await store.db.close();
  }
}

let iteratorsClosed: Promise<void> | undefined;

/** Applies the iterator fix once per process (see above); startDynalite awaits it. */
export function closeDynaliteIterators(): Promise<void> {
  iteratorsClosed ??= Promise.resolve().then(async () => {
    patchIteratorReturn();
    await proveReadsCloseIterators();
  });
  return iteratorsClosed;
}

export const LOCAL_DYNAMODB_REGION = 'us-east-1';
/** Any key pair works: dynalite checks no signature, and static keys keep the SDK off the network. */
export const LOCAL_DYNAMODB_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface StartDynaliteOptions {
  /** A directory for the LevelDB files (data survives a restart); in memory when undefined. */
  path?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface LocalDynamoDb {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Stops the server and closes the database (flushed to disk); safe to call twice. */
  close(): Promise<void>;
}

/**
 * Opens the LevelDB files at `path` once, as dynalite will, and closes them. dynalite opens them in
 * the background and throws what fails there from a callback, which took the process down with
 * `Error: Database is closed` and no word of where: files it cannot open are a clear error here.
 */
async function checkOpens(path: string): Promise<void> {
  const { Level } = createRequire(requireHere.resolve('dynalite'))('level') as {
    Level: new (location: string) => { open(): Promise<void>; close(): Promise<void> };
  };
  const db = new Level(path);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? String(error);
    throw new ConfigurationError(
      `The local DynamoDB files in ${path} cannot be opened (${cause}): they are damaged. Restore the data directory from a copy, or move it away to start with an empty one`,
    );
  }
  await db.close();
}

export async function startDynalite({ path, port = 0 }: StartDynaliteOptions = {}): Promise<LocalDynamoDb> {
  if (path !== undefined) await checkOpens(path);
  await closeDynaliteIterators();
  capDynaliteReadBatches();
  await makeDynaliteIndexWritesAtomic();
  // Tables are usable at once: nothing local waits for a table to become active.
  const server = dynalite({
    ...(path === undefined ? {} : { path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  let hosts: string[] = [];
  guardRequests(server, () => hosts);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  hosts = localHosts(address.port);
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Idle keep-alive sockets of SDK clients would otherwise hold the close open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

/**
 * Requests from programs on this machine only, as the local S3 endpoint takes them (s3rver.ts):
 * dynalite answers any web page's CORS preflight with `Access-Control-Allow-Origin: *` and whatever
 * headers it asks for, so a page open in the user's browser could read and write every table (runs,
 * workflows, listeners), or send a request nested deeply enough to overflow dynalite's validation
 * and take the server down. A browser names the page in `Origin` (preflights included), and SDKs
 * never send one; a name rebound to 127.0.0.1 arrives in `Host`. Both are refused with 403 before
 * dynalite sees the request. A request whose client goes away in the middle ends quietly.
 */
function guardRequests(server: Server, hosts: () => readonly string[]): void {
  const dynalites = server.listeners('request') as Array<
    (request: IncomingMessage, response: ServerResponse) => void
  >;
  server.removeAllListeners('request');
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const reason = foreignRequest(
      { origin: request.headers.origin, host: request.headers.host },
      hosts(),
      'the local DynamoDB endpoint is for the Flowrunner server on this machine',
    );
    if (reason === undefined) {
      const before = new Set(request.listeners('error'));
      for (const dynalite of dynalites) dynalite.call(server, request, response);
      // dynalite rethrows an error of the request (`req.on('error', err => { throw err })`): a
      // client that went away in the middle of sending (a reset, an SDK that gave up) took the whole
      // server down. The request is over then, and so is its answer: nothing to throw for.
      for (const listener of request.listeners('error')) {
        if (!before.has(listener)) request.off('error', listener as (error: Error) => void);
      }
      request.on('error', () => undefined);
      return;
    }
    request.resume();
    response.writeHead(403, { 'content-type': 'application/x-amz-json-1.0' });
    response.end(
      JSON.stringify({ __type: 'com.amazon.coral.service#AccessDeniedException', message: reason }),
    );
  });
}

export interface LocalDynamoDbClientOptions {
  endpoint: string;
  /** Attempts per request (default: the production client's). */
  maxAttempts?: number;
}

/** A client for a local endpoint (dynalite or DynamoDB Local): fixed region and keys, no credential lookups. */
export function createLocalDynamoDbClient({
  endpoint,
  maxAttempts,
}: LocalDynamoDbClientOptions): DynamoDBClient {
  return createDynamoDbClient({
    endpoint,
    region: LOCAL_DYNAMODB_REGION,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
    ...(maxAttempts === undefined ? {} : { maxAttempts }),
  });
}
