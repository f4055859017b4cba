/**
 * A local S3 on disk (s3rver) started in-process, and the S3 client that talks to it, so the
 * production S3 adapters run unchanged on one machine.
 */
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError, NotFoundError } from '../../errors.js';
import { foreignRequest, localHosts } from '../../net/local-hosts.js';
import { toStorageError } from '../s3/errors.js';

/** The part of s3rver (which ships no types) that is used here. */
interface S3rverOptions {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  vhostBuckets: boolean;
}

/** What a Koa middleware sees of a request (s3rver is a Koa application). */
interface KoaContext {
  get(header: string): string;
  status: number;
  type: string;
  body: unknown;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void> | void;

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  /** Koa's middleware, composed when the server starts listening. */
  middleware: KoaMiddleware[];
  close(): Promise<void>;
  httpServer?: Server;
  on(event: 'event', listener: (event: S3NotificationEvent) => void): void;
}

type S3rverConstructor = new (options: S3rverOptions) => S3rverInstance;

/** The S3 event notification s3rver emits for each put, copy and delete, in AWS's Records shape. */
export interface S3NotificationEvent {
  Records: Array<{
    eventName: string;
    eventTime: string;
    s3: {
      bucket: { name: string };
      object: { key: string; size?: number; eTag?: string; versionId?: string; sequencer: string };
    };
  }>;
}

interface AccountRegistry {
  registry: Map<string, unknown>;
  DUMMY_ACCOUNT: unknown;
}

// s3rver is CommonJS without types; loading it through require keeps the typing in this file.
const load = createRequire(import.meta.url);
const S3rver = load('s3rver') as S3rverConstructor;

// CONTRACT §6: the local S3 takes any access key, as tools and SDKs configured for AWS send theirs.
// s3rver looks a key up in its account registry (and does not check SigV4 signatures at all): an
// unknown key is read as its one built-in account. SigV2 signatures are still checked against that
// account's secret, so presigned V2 URLs need S3RVER's own keys.
const accounts = load('s3rver/lib/models/account.js') as AccountRegistry;
const knownAccount = accounts.registry.get.bind(accounts.registry);
accounts.registry.get = (key: string) => knownAccount(key) ?? accounts.DUMMY_ACCOUNT;

/**
 * Keys the local endpoint can keep as files. s3rver keeps an object as files named after its key,
 * and a part of a key longer than a file name made its write stream fail with ENAMETOOLONG, an error
 * nothing in s3rver listens for: one PUT, or one form upload, took the whole server down (`npm
 * start` with it). `.` and `..` parts would name other directories. Every way a key is written
 * (a put, a form upload, a copy, a multipart upload) goes through these three methods of its store,
 * which now refuse such a key first with S3's own error codes (`KeyTooLongError`, `InvalidArgument`),
 * answered as 400.
 */
const FilesystemStore = load('s3rver/lib/stores/filesystem.js') as {
  prototype: Record<'putObject' | 'copyObject' | 'initiateUpload', (...args: never[]) => Promise<unknown>>;
};
const S3Error = load('s3rver/lib/models/error.js') as new (code: string, message: string) => Error;
const KEY_CHECKED = Symbol.for('flowrunner.s3rverKeysChecked');
if (!(KEY_CHECKED in FilesystemStore.prototype)) {
  const store = FilesystemStore.prototype as typeof FilesystemStore.prototype & { [KEY_CHECKED]?: true };
  store[KEY_CHECKED] = true;
  const checked = (
    method: 'putObject' | 'copyObject' | 'initiateUpload',
    keyOf: (args: unknown[]) => unknown,
  ) => {
    const write = store[method] as (...args: unknown[]) => Promise<unknown>;
    store[method] = function (this: unknown, ...args: unknown[]) {
      const refusal = keyRefusal(String(keyOf(args)));
      if (refusal !== undefined) return Promise.reject(new S3Error(refusal.code, refusal.message));
      return write.apply(this, args);
    } as never;
  };
  checked('putObject', ([object]) => (object as { key: string }).key);
  checked('copyObject', (args) => args[3]);
  checked('initiateUpload', (args) => args[1]);
}

/** S3's own bound on a key, in bytes of UTF-8. */
const MAX_KEY_BYTES = 1024;
/** A part of a key between `/` names a file (`<part>._S3rver_metadata.json` the longest): 255 bytes at most. */
const MAX_LOCAL_KEY_PART_BYTES = 255 - '._S3rver_metadata.json'.length;

function keyRefusal(key: string): { code: string; message: string } | undefined {
  const parts = key.split('/');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    return { code: 'KeyTooLongError', message: `A key is at most ${MAX_KEY_BYTES} bytes long` };
  }
  if (parts.some((part) => Buffer.byteLength(part, 'utf8') > MAX_LOCAL_KEY_PART_BYTES)) {
    return {
      code: 'KeyTooLongError',
      message: `The local S3 endpoint keeps each object as files: each part of a key between '/' may be at most ${MAX_LOCAL_KEY_PART_BYTES} bytes long here (S3 itself allows ${MAX_KEY_BYTES} bytes in all)`,
    };
  }
  if (parts.includes('.') || parts.includes('..')) {
    return {
      code: 'InvalidArgument',
      message: "The local S3 endpoint keeps each object as files: a key may not have '.' or '..' parts here",
    };
  }
  return undefined;
}

/** The only key pair s3rver accepts: it checks signatures, so presigned URLs are verified for real. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_S3_REGION = 'us-east-1';

export interface StartS3rverOptions {
  /** Where objects live: `<directory>/<bucket>/<key>._S3rver_object` (+ `._S3rver_metadata.json`). */
  directory: string;
  /** 0 (the default) picks a free port. */
  port?: number;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Calls `listener` with each notification (every put, copy and delete), as S3 → EventBridge would. */
  onEvent(listener: (event: S3NotificationEvent) => void): void;
  close(): Promise<void>;
}

/**
 * Whether 127.0.0.1:`port` can be listened on. s3rver reports a port in use as an `error` event that
 * nothing listens to, which took the process down with a stack trace: asked first, it is a clear
 * error instead.
 */
async function checkPortFree(port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new ConfigurationError(
              `The local S3 cannot listen on 127.0.0.1:${port}: another program uses that port (set FLOWRUNNER_S3_PORT to a free one, or 0 for any)`,
            )
          : error,
      );
    });
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

export async function startS3rver({ directory, port = 0 }: StartS3rverOptions): Promise<LocalS3> {
  if (port !== 0) await checkPortFree(port);
  const server = new S3rver({ address: '127.0.0.1', port, directory, silent: true, vhostBuckets: false });
  let hosts: string[] = [];
  // Before every route of s3rver's: it runs as the first middleware of the application.
  server.middleware.unshift(fromThisMachineOnly(() => hosts));
  const address = await server.run();
  hosts = localHosts(address.port);
  const listeners: Array<(event: S3NotificationEvent) => void> = [];
  const nextSequencer = createSequencer();
  // One sequencer per write, whoever listens: it is the write's identity (and dedupe key) downstream.
  server.on('event', (event) => {
    const stamped = withSequencers(event, nextSequencer);
    for (const listener of listeners) listener(stamped);
  });
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    onEvent(listener) {
      listeners.push(listener);
    },
    async close() {
      const closing = server.close();
      // Idle keep-alive sockets of SDK clients would otherwise hold the close open.
      server.httpServer?.closeAllConnections();
      await closing;
    },
  };
}

/**
 * Requests from programs on this machine only. The endpoint takes any key, so a request it accepts
 * can write objects, and a write fires the bucket's `s3` listeners: a web page open in the user's
 * browser could otherwise start runs with its own content through an HTML form (a multipart POST
 * is a "simple" request, sent cross-origin without asking), or read through DNS rebinding. A
 * browser names the page's origin in `Origin` on every such request, and SDKs and tools never send
 * one; a rebound name arrives in `Host` (`localHosts`, as the API's own server checks it).
 */
function fromThisMachineOnly(hosts: () => readonly string[]): KoaMiddleware {
  return async (ctx, next) => {
    const reason = foreignRequest(
      { origin: ctx.get('origin'), host: ctx.get('host') },
      hosts(),
      'the local S3 endpoint is for tools and SDKs on this machine',
    );
    if (reason === undefined) return next();
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${reason}</Message></Error>`;
  };
}

/**
 * S3's `sequencer` as a write's identity: hex that grows with each write, as S3's does for the writes
 * of one key. s3rver's own is the millisecond (`Date.now()` in hex), so two writes in one millisecond
 * would be one event (and the second start no run); this adds a count within the millisecond. Fixed
 * width (12 hex digits of milliseconds, 6 of count), so later is also greater as text.
 */
export function createSequencer(now: () => number = Date.now): () => string {
  let lastMs = -1;
  let count = 0;
  return () => {
    // A clock that steps back keeps the last millisecond: the sequence never goes back.
    const ms = Math.max(now(), lastMs);
    count = ms === lastMs ? count + 1 : 0;
    lastMs = ms;
    return `${ms.toString(16).padStart(12, '0')}${count.toString(16).padStart(6, '0')}`.toUpperCase();
  };
}

function withSequencers(event: S3NotificationEvent, next: () => string): S3NotificationEvent {
  return {
    ...event,
    Records: event.Records.map((record) => ({
      ...record,
      s3: { ...record.s3, object: { ...record.s3.object, sequencer: next() } },
    })),
  };
}

export interface LocalS3ClientOptions {
  endpoint: string;
  region?: string;
}

export function createS3Client({ endpoint, region = LOCAL_S3_REGION }: LocalS3ClientOptions): S3Client {
  return new S3Client({
    endpoint,
    region,
    credentials: S3RVER_CREDENTIALS,
    // s3rver only serves path-style URLs (`/<bucket>/<key>`) on a bare IP endpoint.
    forcePathStyle: true,
    // With checksums on, the SDK streams uploads in aws-chunked framing, which s3rver stores verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Creates the bucket unless it exists; safe to call on every start. */
export async function ensureBucket(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = (error as { name?: unknown }).name;
    if (name === 'BucketAlreadyOwnedByYou' || name === 'BucketAlreadyExists') return;
    throw toStorageError(error, {
      operation: 'create bucket',
      bucket,
      notFound: (cause) => new NotFoundError('Bucket', bucket, { cause }),
    });
  }
}
