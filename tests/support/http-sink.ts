/**
 * A loopback HTTP server for tests that count side effects: it records every request (method,
 * path, headers, body) and answers 200 with a small JSON body. Requests are counted by their
 * `idempotency-key` header, which `api_call` sets to `<run_id>:<step_id>:<visit>` (CONTRACT §2).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SinkRequest {
  method: string;
  /** The path with its query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** When the request had been read in full (ms since the epoch). */
  at: number;
}

export interface HttpSink {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  /** Every request so far, in the order their bodies were read. */
  readonly requests: readonly SinkRequest[];
  /** How many requests carried each `idempotency-key` (requests without one are not counted here). */
  countsByKey(): Map<string, number>;
  /** Calls `listener` after each request is recorded (before it is answered). */
  onRequest(listener: (request: SinkRequest) => void): void;
  close(): Promise<void>;
}

/** The answer to every request: 200 with what the sink saw, so a step's output can be checked. */
export interface SinkAnswer {
  ok: true;
  method: string;
  path: string;
  idempotency_key: string | null;
  /** The request body parsed as JSON, or the text when it is not JSON. */
  received: unknown;
}

export interface HttpSinkOptions {
  /** How long each answer is held back after the request was recorded (default 0): keeps requests in flight. */
  delayMs?: number;
}

export async function startHttpSink(options: HttpSinkOptions = {}): Promise<HttpSink> {
  const delayMs = options.delayMs ?? 0;
  const requests: SinkRequest[] = [];
  const listeners: Array<(request: SinkRequest) => void> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const request: SinkRequest = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        headers: req.headers,
        body,
        at: Date.now(),
      };
      requests.push(request);
      for (const listener of listeners) listener(request);
      const key = req.headers['idempotency-key'];
      const answer: SinkAnswer = {
        ok: true,
        method: request.method,
        path: request.path,
        idempotency_key: typeof key === 'string' ? key : null,
        received: parsed(body),
      };
      const text = JSON.stringify(answer);
      const send = () => {
        if (res.destroyed) return; // the client is gone (killed)
        res.writeHead(200, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      if (delayMs > 0) setTimeout(send, delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    countsByKey() {
      const counts = new Map<string, number>();
      for (const request of requests) {
        const key = request.headers['idempotency-key'];
        if (typeof key === 'string') counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      return counts;
    },
    onRequest(listener) {
      listeners.push(listener);
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets of a killed client would hold `close` open.
        server.closeAllConnections();
      });
    },
  };
}

function parsed(body: string): unknown {
  if (body === '') return null;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
