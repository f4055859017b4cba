/**
 * The local server behind `npm start`: a thin node:http adapter. Each request becomes the API
 * Gateway v2 event API Gateway would send, for the same API handler that runs in Lambda, and that
 * handler owns what the request means: body limits, Host and Origin checks, CORS, API keys and
 * Problem Details. The adapter keeps what is about the connection: reading a body within a bound,
 * keeping a keep-alive connection usable after a refused body, and the live event stream (SSE) on
 * `/v1/executions/{id}/events`, which API Gateway cannot do. Runs execute on the local runtime.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, isIPv6 } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createApi, DEFAULT_MAX_BODY_BYTES } from '../../functions/api/app.js';
import { apiKeysFromSetting } from '../../functions/api/middleware/api-key-auth.js';
import { type Problem, problem, UNEXPECTED_ERROR } from '../../functions/api/middleware/problem-details.js';
import { traceIdOf } from '../../functions/api/request-trace.js';
import {
  logAbandonedRequest,
  logFailedRequest,
  logger,
  logRequest,
  rememberConfiguredSecrets,
} from '../../shared/adapters/logger.js';
import { sha256Hex } from '../../shared/crypto.js';
import { ConfigurationError } from '../../shared/errors.js';
import { localHosts } from '../../shared/net/local-hosts.js';
import type { RunStore } from '../../shared/ports/index.js';
import type { Telemetry } from '../../shared/ports/telemetry.js';
import { isConsolePath, serveConsole } from './console-files.js';
import { streamRunEvents } from './event-stream.js';
import { LocalRuntime } from './runtime.js';
import { LocalTriggers } from './triggers.js';
import { loadWorkflows } from './workflows.js';

export interface LocalServerOptions {
  dataDir: string;
  port?: number;
  host?: string;
  /** Workflows to load on start (every .yaml/.json file); new ones are created, changed ones get a version. */
  examplesDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Requests larger than this are refused with 413 by the API (default 1 MB). */
  maxBodyBytes?: number;
  /** The local S3 endpoint's port (CONTRACT §6; `npm start` passes FLOWRUNNER_S3_PORT, default 4569); default 0: a free one. */
  s3Port?: number;
  /** Traces (default from OTEL_*): tests pass an in-memory exporter's. */
  telemetry?: Telemetry;
  /** The console's build, served at /console (default: dist/console of the package). */
  consoleDir?: string;
}

export interface LocalServer {
  url: string;
  /** The local S3 endpoint: a put there fires the bucket's s3 listeners. */
  s3Url: string;
  runtime: LocalRuntime;
  triggers: LocalTriggers;
  /** What loading the examples did, for the start-up message. */
  loaded: string[];
  close(): Promise<void>;
}

/**
 * Event streams open at once. Each one reads the store while it is open (a run that waits for a
 * person keeps its streams open for as long as it waits): 300 of them, polling every 200 ms, made
 * starting a run take 0.9 s instead of 25 ms. Past the bound a stream is refused with 503.
 */
export const MAX_EVENT_STREAMS = 64;

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const env = options.env ?? process.env;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Settings first: a bad one stops the start before any store opens.
  const corsOrigins = corsOriginsFrom(env.FLOWRUNNER_CORS_ORIGINS);
  const runtime = await LocalRuntime.start({
    dataDir: options.dataDir,
    env,
    // Picked up once the server listens: the API answers meanwhile (runs.resumeUnfinished below).
    resumeUnfinished: false,
    ...(options.s3Port === undefined ? {} : { s3Port: options.s3Port }),
    ...(options.telemetry ? { telemetry: options.telemetry } : {}),
  });
  const loaded = options.examplesDir ? await loadWorkflows(runtime, options.examplesDir) : [];
  const triggers = new LocalTriggers({
    deps: runtime.deps,
    onS3Event: runtime.local.onS3Event,
    dataDir: options.dataDir,
  });
  const keys = apiKeysFromSetting(env.FLOWRUNNER_API_KEYS, sha256Hex);
  // The keys and FLOWRUNNER_SECRET_* values never appear in a log line, whatever their shape.
  rememberConfiguredSecrets(env);
  // Known once the server listens (port 0 picks one); until then no Host is answered.
  let hosts: readonly string[] = [];
  const api = createApi({
    orchestrator: runtime.deps,
    maxBodyBytes,
    corsOrigins,
    hosts: () => hosts,
    metrics: runtime.metrics,
    ...(keys.length > 0 ? { apiKeys: { keys } } : {}),
    schedules: triggers.schedules,
    bus: triggers.bus,
  });
  const streams = new Set<ServerResponse>();
  /** The loops of the open streams: the stores close only once they have stopped reading them. */
  const streamLoops = new Set<Promise<void>>();
  /** Aborted when the server closes: a stream's loop stops at once, even in its wait between reads. */
  const closing = new AbortController();
  // One listener per stream waiting between two reads: as many as there may be streams.
  setMaxListeners(MAX_EVENT_STREAMS + 8, closing.signal);
  /** The trace id of each answered request (tracing on), for its log line. */
  const traceIds = new WeakMap<ServerResponse, string>();
  const consoleDir = options.consoleDir ?? defaultConsoleDir();

  const serve = (request: IncomingMessage, response: ServerResponse) => {
    // One JSON line per request on stdout once it is answered (or the client left).
    const startedAt = performance.now();
    response.once('close', () =>
      logRequest(logger, {
        method: request.method ?? 'GET',
        path: (request.url ?? '/').split('?')[0]!,
        status: response.statusCode,
        startedAt,
        ...(traceIds.has(response) ? { traceId: traceIds.get(response)! } : {}),
      }),
    );
    void handle(request, response).catch((error: unknown) => {
      const method = request.method ?? 'GET';
      const path = (request.url ?? '/').split('?')[0]!;
      const reason = error instanceof Error ? error.message : String(error);
      if (request.destroyed || response.headersSent) {
        // The API answers every error of the request itself; this is the connection failing (the
        // client left in the middle of its body): nothing left to answer, and nothing wrong with the
        // server, so one structured line beside the request's own rather than a line on stderr.
        logAbandonedRequest(logger, { method, path, reason });
        response.destroy();
        return;
      }
      // A defect of the server's own (the API answers its errors itself): the client gets an answer.
      logFailedRequest(logger, { method, path, reason });
      sendProblem(response, problem(500, 'Internal Server Error', UNEXPECTED_ERROR));
    });
  };
  const server: Server = createServer(serve);
  // A client that waits for `100 Continue` before sending a body over the limit is answered at once.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (!(declaredLength(request) > maxBodyBytes)) response.writeContinue();
    serve(request, response);
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(`http://localhost${request.url ?? '/'}`);
    if (isConsolePath(url.pathname)) {
      // The same Host rule as the API (DNS rebinding): only the names this server answers to.
      if (!hosts.includes(String(request.headers.host ?? '').toLowerCase())) {
        response.writeHead(421, { 'content-type': 'text/plain; charset=utf-8' }).end('Misdirected request\n');
        return;
      }
      return serveConsole(request, response, url.pathname, consoleDir);
    }
    const stream = /^\/v1\/executions\/([^/]+)\/events$/.exec(url.pathname);
    if (
      request.method === 'GET' &&
      stream &&
      !hasBody(request) &&
      (request.headers.accept ?? '').includes('text/event-stream')
    ) {
      // Host, Origin, key, query and the run's existence are checked by the API first: a GET of one event.
      const probeUrl = new URL(url);
      if (!probeUrl.searchParams.has('limit')) probeUrl.searchParams.set('limit', '1');
      const probe = await api(toEvent(request, probeUrl, undefined), lambdaContext());
      if ((probe.statusCode ?? 200) !== 200) return send(response, probe, true);
      const start = streamStart(request, url);
      if ('problem' in start) return sendProblem(response, start.problem, streamCors(probe.headers ?? {}));
      if (streams.size >= MAX_EVENT_STREAMS) return refuseStream(response, probe.headers ?? {});
      const loop = streamEvents(
        decodeURIComponent(stream[1]!),
        start,
        request,
        response,
        probe.headers ?? {},
      );
      streamLoops.add(loop);
      return loop.finally(() => streamLoops.delete(loop));
    }
    const body = await readBody(request, maxBodyBytes);
    const result = await api(toEvent(request, url, body.bytes), lambdaContext());
    const traceId = traceIdOf(result.headers);
    if (traceId) traceIds.set(response, traceId);
    send(response, result, body.complete);
  }

  /** The CORS headers the API gave a stream's probe (none for an origin it does not allow), for the stream's own answer. */
  function streamCors(apiHeaders: NonNullable<APIGatewayProxyStructuredResultV2['headers']>) {
    const cors: Record<string, string> = {};
    for (const name of ['access-control-allow-origin', 'vary']) {
      if (apiHeaders[name] !== undefined) cors[name] = String(apiHeaders[name]);
    }
    return cors;
  }

  /** 503, as the API answers a busy store: too many streams are open; the events can be read page by page. */
  function refuseStream(
    response: ServerResponse,
    apiHeaders: NonNullable<APIGatewayProxyStructuredResultV2['headers']>,
  ) {
    sendProblem(
      response,
      problem(
        503,
        'Service Unavailable',
        `${MAX_EVENT_STREAMS} event streams are open, the most this server keeps; try again later, or read the events without Accept: text/event-stream`,
      ),
      { 'retry-after': '5', ...streamCors(apiHeaders) },
    );
  }

  /**
   * Replays the run's events from `start`, then streams new ones until the run ends or the client
   * leaves (event-stream.ts).
   */
  async function streamEvents(
    runId: string,
    start: StreamStart,
    request: IncomingMessage,
    response: ServerResponse,
    apiHeaders: NonNullable<APIGatewayProxyStructuredResultV2['headers']>,
  ) {
    // The stream gets the CORS headers the API gave its probe: none for an origin it does not allow.
    const cors = streamCors(apiHeaders);
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...cors,
    });
    streams.add(response);
    // The stream stops when its client leaves or the server closes (a listener on the server's
    // signal, removed with the stream: AbortSignal.any kept one dependent signal per stream for good).
    const stop = new AbortController();
    const abort = () => stop.abort();
    request.on('close', abort);
    closing.signal.addEventListener('abort', abort, { once: true });
    try {
      await streamRunEvents(eventsFrom(runtime.local.stores.runs, start), runId, response, {
        after: 'after' in start ? start.after : 0,
        signal: stop.signal,
      });
    } finally {
      closing.signal.removeEventListener('abort', abort);
      streams.delete(response);
      response.end();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  hosts = localHosts(address.port, options.host);
  // Runs that had not ended are picked up, and schedules due while the server was down fire once,
  // with the API already answering.
  await runtime.resumeUnfinished();
  await triggers.start();
  runtime.publicUrl = `http://${isIPv6(address.address) ? `[${address.address}]` : address.address}:${address.port}`;
  return {
    url: `http://${address.address}:${address.port}`,
    s3Url: runtime.local.s3Endpoint,
    runtime,
    triggers,
    loaded,
    async close() {
      // Streams stop reading before the stores close (a read of a closed store is an error).
      closing.abort();
      await Promise.allSettled([...streamLoops]);
      for (const response of streams) response.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await triggers.close();
      await runtime.close();
    },
  };
}

/**
 * FLOWRUNNER_CORS_ORIGINS: the origins, comma-separated, that may call the server from a browser
 * besides its own (`http://localhost:5173`); none by default. `*` is refused: it would hand the
 * server, which runs without keys, to every page on the web.
 */
export function corsOriginsFrom(value: string | undefined): string[] {
  const origins: string[] = [];
  for (const entry of (value ?? '').split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    let url: URL | undefined;
    try {
      url = new URL(entry);
    } catch {
      url = undefined;
    }
    const bare =
      url !== undefined &&
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' &&
      url.password === '' &&
      url.pathname === '/' &&
      url.search === '' &&
      url.hash === '' &&
      !entry.endsWith('/');
    if (!url || !bare) {
      throw new ConfigurationError(
        `FLOWRUNNER_CORS_ORIGINS: '${entry}' is not an origin; list each origin allowed to call this server, such as http://localhost:5173`,
      );
    }
    origins.push(url.origin);
  }
  return origins;
}

/** Where a live event stream starts: after a seq, or at the position of a `next_cursor`. */
type StreamStart = { after: number } | { cursor: string };

/** A seq as the events route reads `after` (a safe integer; longer digit strings are no seq of ours). */
const SEQ = /^\d{1,15}$/;

/**
 * Where the stream starts. `Last-Event-ID` first: an EventSource reconnecting sends the id of the
 * last event it got, on the same URL, so it wins over the `after` it first asked for. An id that
 * is no seq is refused with 400 rather than read as 0 (the whole run again) or ignored for `after`
 * (events sent twice): this stream never gives such an id, so the client has a defect to know
 * about. An empty one is no id, as EventSource sends none before the first event. Then `after`, a
 * seq or a `next_cursor` (the API checked it on the stream's probe).
 */
function streamStart(request: IncomingMessage, url: URL): StreamStart | { problem: Problem } {
  const header = request.headers['last-event-id'];
  // Sent twice, it is no one id: refused below like any other that is no seq.
  const lastEventId = (Array.isArray(header) ? header.join(',') : header)?.trim();
  if (lastEventId !== undefined && lastEventId !== '') {
    if (SEQ.test(lastEventId)) return { after: Number(lastEventId) };
    return {
      problem: problem(400, 'Bad Request', 'Last-Event-ID is not the id of an event of this stream', [
        { path: 'Last-Event-ID', message: 'must be the seq of an event (an integer ≥ 0), as sent in id:' },
      ]),
    };
  }
  const after = url.searchParams.get('after');
  if (after === null) return { after: 0 };
  return SEQ.test(after) ? { after: Number(after) } : { cursor: after };
}

/**
 * The run store as a stream from a cursor reads it: until the cursor's first events are sent, each
 * read is from the cursor, which the store decodes as it does for the JSON page; then by seq, from
 * the last event sent.
 */
function eventsFrom(
  runs: Pick<RunStore, 'events' | 'get'>,
  start: StreamStart,
): Pick<RunStore, 'events' | 'get'> {
  if (!('cursor' in start)) return runs;
  let cursor: string | undefined = start.cursor;
  return {
    get: (runId) => runs.get(runId),
    async events(runId, options) {
      if (cursor === undefined) return runs.events(runId, options);
      const page = await runs.events(runId, { cursor, ...(options?.limit ? { limit: options.limit } : {}) });
      if (page.events.length > 0) cursor = undefined;
      return page;
    },
  };
}

/** The Host values answered: each local name, and the address the server was bound to, with its port. */
/** An answer of the server's own (not the API's), as Problem Details like every error the API gives. */
function sendProblem(response: ServerResponse, body: Problem, headers: Record<string, string> = {}): void {
  response
    .writeHead(body.status, { 'content-type': 'application/problem+json', ...headers })
    .end(JSON.stringify(body));
}

function declaredLength(request: IncomingMessage): number {
  const header = request.headers['content-length'];
  return header !== undefined && /^\d+$/.test(header) ? Number(header) : Number.NaN;
}

function hasBody(request: IncomingMessage): boolean {
  return request.headers['transfer-encoding'] !== undefined || (declaredLength(request) || 0) > 0;
}

/**
 * Reads the body, keeping at most `limit + 1` bytes: enough for the API to see it is over the limit.
 * The rest of a larger body is read and dropped, up to another `limit` bytes, so the connection
 * stays usable for the next request. A body larger than that, or announced as larger and held back
 * (`Expect: 100-continue`), is left unread: `complete: false`, and the connection is closed after
 * the answer, as the unread bytes would otherwise be taken for the next request.
 */
function readBody(request: IncomingMessage, limit: number): Promise<{ bytes: Buffer; complete: boolean }> {
  const drainUpTo = limit * 2;
  const declared = declaredLength(request);
  const heldBack = /100-continue/i.test(request.headers.expect ?? '');
  if (declared > drainUpTo || (declared > limit && heldBack)) {
    return Promise.resolve({ bytes: Buffer.alloc(0), complete: false });
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let seen = 0;
    const stop = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (kept <= limit) {
        const part = chunk.subarray(0, limit + 1 - kept);
        chunks.push(part);
        kept += part.length;
      }
      if (seen > drainUpTo) {
        stop();
        // Dropped while the answer is written: the connection then closes with nothing left unread.
        request.resume();
        resolve({ bytes: Buffer.concat(chunks), complete: false });
      }
    };
    const onEnd = () => {
      stop();
      resolve({ bytes: Buffer.concat(chunks), complete: true });
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    const onClose = () => {
      stop();
      reject(new Error('the client closed the connection before the end of its body'));
    };
    request.on('data', onData);
    request.once('end', onEnd);
    request.once('error', onError);
    request.once('close', onClose);
  });
}

/** The API Gateway v2 (HTTP API, payload 2.0) event API Gateway would send for this request. */
function toEvent(request: IncomingMessage, url: URL, body: Buffer | undefined): APIGatewayProxyEventV2 {
  // node:http gives header names in lower case already; API Gateway joins repeated headers with commas.
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const method = request.method ?? 'GET';
  const text = body && body.length > 0 ? body.toString('utf8') : undefined;
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(text === undefined ? {} : { body: text }),
    isBase64Encoded: false,
  };
}

function lambdaContext() {
  return { getRemainingTimeInMillis: () => 30_000 } as never;
}

/** Writes the API's answer; `bodyRead: false` closes the connection after it (`Connection: close`). */
function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2, bodyRead: boolean) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (!bodyRead) headers.connection = 'close';
  const body =
    result.body === undefined
      ? undefined
      : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  // As API Gateway does: the length of the answer, not a chunked one. For HEAD, node:http sends
  // these headers and drops the body: Content-Length is what GET would send (RFC 9110 §9.3.2).
  if (body !== undefined) headers['content-length'] = String(body.length);
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}

/** dist/console of the package this file belongs to (from the sources or from dist/). */
function defaultConsoleDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return join(dir, 'dist', 'console');
}
