/**
 * The local server behind `npm start`: node:http turns each request into an API Gateway v2 event for
 * the same API handler that runs in Lambda, and adds what API Gateway cannot do well: a live event
 * stream (SSE) on `/v1/executions/{id}/events`. Runs execute on the local runtime.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createApi, DEFAULT_MAX_BODY_BYTES } from '../../functions/api/app.js';
import { sha256Hex } from '../../functions/api/middleware/api-key-auth.js';
import { isFinal } from '../../shared/engine/transition.js';
import { NotFoundError } from '../../shared/errors.js';
import type { Stores } from '../../shared/ports/index.js';
import { LocalRuntime } from './runtime.js';
import { loadWorkflows } from './workflows.js';

export interface LocalServerOptions {
  dataDir: string;
  port?: number;
  host?: string;
  /** Workflows to load on start (every .yaml/.json file); new ones are created, changed ones get a version. */
  examplesDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Requests larger than this are refused with 413 (default 1 MB). */
  maxBodyBytes?: number;
}

export interface LocalServer {
  url: string;
  runtime: LocalRuntime;
  /** What loading the examples did, for the start-up message. */
  loaded: string[];
  close(): Promise<void>;
}

const SSE_POLL_MS = 200;
const SSE_HEARTBEAT_MS = 15_000;

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const env = options.env ?? process.env;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const runtime = await LocalRuntime.start({ dataDir: options.dataDir, env });
  const loaded = options.examplesDir ? await loadWorkflows(runtime, options.examplesDir) : [];
  const keys = (env.FLOWRUNNER_API_KEYS ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter(Boolean);
  const api = createApi({
    orchestrator: runtime.deps as typeof runtime.deps & { stores: Stores },
    maxBodyBytes,
    ...(keys.length > 0 ? { apiKeys: { hashes: keys.map((k) => sha256Hex(k)) } } : {}),
  });
  const streams = new Set<ServerResponse>();

  const server: Server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      process.stderr.write(`flowrunner: ${String(error)}\n`);
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ type: 'about:blank', title: 'Internal Server Error', status: 500 }));
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const stream = /^\/v1\/executions\/([^/]+)\/events$/.exec(url.pathname);
    if (request.method === 'GET' && stream && (request.headers.accept ?? '').includes('text/event-stream')) {
      // Authorization and the run's existence are checked by the API first: a HEAD-like GET of one event.
      const probe = await api(
        toEvent(request, new URL(`${url.pathname}?limit=1`, url), undefined),
        lambdaContext(),
      );
      if ((probe.statusCode ?? 200) !== 200) return send(response, probe);
      return streamEvents(decodeURIComponent(stream[1]!), request, response);
    }
    const body = await readBody(request, maxBodyBytes);
    if (body === undefined) {
      return send(response, {
        statusCode: 413,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Payload Too Large',
          status: 413,
          detail: `The body is larger than ${maxBodyBytes} bytes`,
        }),
      });
    }
    send(response, await api(toEvent(request, url, body), lambdaContext()));
  }

  /** Replays the run's events, then streams new ones until the run ends or the client leaves. */
  async function streamEvents(runId: string, request: IncomingMessage, response: ServerResponse) {
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'access-control-allow-origin': '*',
    });
    streams.add(response);
    let after = Number(request.headers['last-event-id'] ?? 0) || 0;
    let open = true;
    request.on('close', () => {
      open = false;
    });
    let heartbeat = Date.now();
    try {
      while (open) {
        const page = await runtime.local.stores.runs.events(runId, { after, limit: 100 });
        for (const event of page.events) {
          response.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
          after = event.seq;
        }
        if (page.events.length === 100) continue;
        const { state } = await runtime.local.stores.runs.get(runId);
        if (isFinal(state.status) && state.seq <= after) break;
        if (Date.now() - heartbeat > SSE_HEARTBEAT_MS) {
          response.write(': keep-alive\n\n');
          heartbeat = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, SSE_POLL_MS));
      }
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    } finally {
      streams.delete(response);
      response.end();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    runtime,
    loaded,
    async close() {
      for (const response of streams) response.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await runtime.close();
    },
  };
}

/** Reads the body up to the limit; undefined when it is larger. */
async function readBody(request: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The API Gateway v2 (HTTP API, payload 2.0) event API Gateway would send for this request. */
function toEvent(request: IncomingMessage, url: URL, body: Buffer | undefined): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
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

function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2) {
  const headers: Record<string, string | number | boolean> = { ...(result.headers ?? {}) };
  response.writeHead(result.statusCode ?? 200, headers as Record<string, string>);
  response.end(
    result.body === undefined
      ? undefined
      : result.isBase64Encoded
        ? Buffer.from(result.body, 'base64')
        : result.body,
  );
}
