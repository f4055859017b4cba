/**
 * The local server as a web page and a raw TCP client meet it (CONTRACT §5; issue 9 #3, #6, #8):
 * started in-process on a free port and a fresh data directory, spoken to over real sockets.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corsOriginsFrom, type LocalServer, startLocalServer } from '../../../infra/local/server.js';

const LIMIT = 10_000;
const HELLO = `schema_version: "1.0"
id: hello
steps:
  - id: greet
    type: transform
    config: { output: "Hello {{ inputs.name }}" }
`;

const servers: Array<{ server: LocalServer; dataDir: string }> = [];

async function start(env: Record<string, string> = {}): Promise<{ server: LocalServer; port: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-local-server-'));
  const server = await startLocalServer({
    dataDir,
    port: 0,
    maxBodyBytes: LIMIT,
    env: { ...process.env, FLOWRUNNER_API_KEYS: '', FLOWRUNNER_CORS_ORIGINS: '', ...env },
  });
  servers.push({ server, dataDir });
  return { server, port: Number(new URL(server.url).port) };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: a parsed JSON answer, read by shape in assertions that check it
  body: any;
}

/** One request on its own connection, with any Host and Origin (fetch would not send every header). */
function call(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers: options.headers ?? {}, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => {
          const type = res.headers['content-type'] ?? '';
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            body: /json/.test(type) && text ? JSON.parse(text) : undefined,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Speaks HTTP/1.1 on one TCP connection: sends each request once the answer to the one before has
 * arrived (a request given in parts is written part by part, as a slow client would), and reports
 * the answers and how the connection ended.
 */
async function exchange(
  port: number,
  requests: Array<string | string[]>,
): Promise<{ answers: Array<{ head: string; body: string }>; ended: 'end' | 'error' | 'open' }> {
  const socket = connect(port, '127.0.0.1');
  socket.setEncoding('latin1');
  const answers: Array<{ head: string; body: string }> = [];
  let buffer = '';
  let ended: 'end' | 'error' | 'open' = 'open';
  let wake = () => {};
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    wake();
  });
  socket.on('end', () => {
    ended = 'end';
    wake();
  });
  socket.on('error', () => {
    ended = 'error';
    wake();
  });
  /** The next complete answer (head and body, by content-length or chunked), or undefined if the connection ended first. */
  const nextAnswer = async () => {
    const deadline = Date.now() + 5_000;
    for (;;) {
      const headEnd = buffer.indexOf('\r\n\r\n');
      if (headEnd !== -1) {
        const head = buffer.slice(0, headEnd);
        let at = headEnd + 4;
        let body: string | undefined;
        if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
          let text = '';
          for (;;) {
            const lineEnd = buffer.indexOf('\r\n', at);
            if (lineEnd === -1) break;
            const size = Number.parseInt(buffer.slice(at, lineEnd), 16);
            if (buffer.length < lineEnd + 2 + size + 2) break;
            text += buffer.slice(lineEnd + 2, lineEnd + 2 + size);
            at = lineEnd + 2 + size + 2;
            if (size === 0) {
              body = text;
              break;
            }
          }
        } else {
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffer.length >= at + length) {
            body = buffer.slice(at, at + length);
            at += length;
          }
        }
        if (body !== undefined) {
          buffer = buffer.slice(at);
          return { head, body };
        }
      }
      if (ended !== 'open' || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  };
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const request of requests) {
    if (ended !== 'open') break;
    for (const [i, part] of (Array.isArray(request) ? request : [request]).entries()) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      if (ended === 'open') socket.write(part, 'latin1');
    }
    const answer = await nextAnswer();
    if (!answer) break;
    answers.push(answer);
  }
  // Give a closing server a moment to say so.
  for (let i = 0; i < 20 && ended === 'open'; i++) await new Promise((resolve) => setTimeout(resolve, 25));
  socket.destroy();
  return { answers, ended };
}

let port: number;

beforeAll(async () => {
  ({ port } = await start());
  const created = await call(port, 'POST', '/v1/workflows', {
    headers: { host: `127.0.0.1:${port}`, 'content-type': 'text/yaml' },
    body: HELLO,
  });
  if (created.status !== 201) throw new Error(`create failed: ${created.text}`);
}, 60_000);

afterAll(async () => {
  for (const { server, dataDir } of servers) {
    await server.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});

const own = () => `127.0.0.1:${port}`;
const startBody = JSON.stringify({ workflow_id: 'hello', inputs: { name: 'Ada' } });

/** How many runs of `hello` exist, once every run started so far has done what it can. */
async function runCount(): Promise<number> {
  await servers[0]!.server.runtime.settled();
  const list = await call(port, 'GET', '/v1/executions?workflow_id=hello&limit=100', {
    headers: { host: own() },
  });
  return list.body.items.length as number;
}

describe('local server: Host allow-list (DNS rebinding)', () => {
  it('answers its own names with its port, and 403 to any other Host', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect((await call(port, 'GET', '/healthz', { headers: { host } })).status, host).toBe(200);
    }
    for (const host of [
      `rebind.attacker.example:${port}`,
      'attacker.example',
      `127.0.0.1:${port + 1}`,
      '127.0.0.1',
    ]) {
      const answer = await call(port, 'GET', '/v1/workflows', { headers: { host } });
      expect(answer.status, host).toBe(403);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.body.detail).toContain('answers only requests for 127.0.0.1:');
    }
    const write = await call(port, 'POST', '/v1/executions', {
      headers: { host: `rebind.attacker.example:${port}`, 'content-type': 'application/json' },
      body: startBody,
    });
    expect(write.status).toBe(403);
  });
});

describe('local server: requests from web pages', () => {
  it('refuses a write from another origin with 403 and starts nothing', async () => {
    const before = await runCount();
    for (const origin of ['https://evil.example', 'null', `http://localhost:${port + 1}`]) {
      const answer = await call(port, 'POST', '/v1/executions', {
        headers: { host: own(), origin, 'content-type': 'application/json' },
        body: startBody,
      });
      expect(answer.status, origin).toBe(403);
      expect(answer.body.detail).toContain('Requests from other origins are refused');
      expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(await runCount()).toBe(before);
    const same = await call(port, 'POST', '/v1/executions', {
      headers: { host: own(), origin: `http://${own()}`, 'content-type': 'application/json' },
      body: startBody,
    });
    expect(same.status).toBe(202);
  });

  it('does not read JSON sent as text/plain (a form post needs no preflight)', async () => {
    const before = await runCount();
    const answer = await call(port, 'POST', '/v1/executions', {
      headers: { host: own(), 'content-type': 'text/plain' },
      body: startBody,
    });
    expect(answer.status).toBe(415);
    expect(await runCount()).toBe(before);
  });

  it('allows no origin by CORS by default: no access-control-allow-origin, not even on the event stream', async () => {
    const healthz = await call(port, 'GET', '/healthz', {
      headers: { host: own(), origin: `http://${own()}` },
    });
    expect(healthz.status).toBe(200);
    expect(healthz.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await call(port, 'OPTIONS', '/v1/executions', {
      headers: { host: own(), origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();

    const started = await call(port, 'POST', '/v1/executions', {
      headers: { host: own(), 'content-type': 'application/json' },
      body: startBody,
    });
    const stream = await call(port, 'GET', `/v1/executions/${started.body.id}/events`, {
      headers: { host: own(), accept: 'text/event-stream' },
    });
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.text).toContain('event: run.created');
    expect(stream.headers['access-control-allow-origin']).toBeUndefined();
    const foreign = await call(port, 'GET', `/v1/executions/${started.body.id}/events`, {
      headers: { host: own(), accept: 'text/event-stream', origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
  });

  it('allows the origins in FLOWRUNNER_CORS_ORIGINS, and only those', async () => {
    const { port: other } = await start({
      FLOWRUNNER_CORS_ORIGINS: 'http://localhost:5173, https://console.example.com',
    });
    const host = `127.0.0.1:${other}`;
    const preflight = await call(other, 'OPTIONS', '/v1/workflows', {
      headers: { host, origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    const created = await call(other, 'POST', '/v1/workflows', {
      headers: { host, origin: 'https://console.example.com', 'content-type': 'text/yaml' },
      body: HELLO,
    });
    expect(created.status).toBe(201);
    expect(created.headers['access-control-allow-origin']).toBe('https://console.example.com');
    const refused = await call(other, 'POST', '/v1/workflows', {
      headers: { host, origin: 'https://evil.example', 'content-type': 'text/yaml' },
      body: HELLO.replace('id: hello', 'id: evil'),
    });
    expect(refused.status).toBe(403);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses to start with a CORS setting that is not a list of origins', async () => {
    for (const value of ['*', 'null', 'localhost:5173', 'http://localhost:5173/app']) {
      expect(() => corsOriginsFrom(value), value).toThrow(/FLOWRUNNER_CORS_ORIGINS: .* is not an origin/);
    }
    expect(corsOriginsFrom(' http://LOCALHOST:5173 ,https://a.example ')).toEqual([
      'http://localhost:5173',
      'https://a.example',
    ]);
    expect(corsOriginsFrom(undefined)).toEqual([]);
    await expect(start({ FLOWRUNNER_CORS_ORIGINS: '*' })).rejects.toThrow(/is not an origin/);
  });
});

describe('local server: bad input on the real stores', () => {
  it('answers 4xx, never 500: a 10,000-character run id, JSON 4,000 levels deep, 1e309', async () => {
    const long = await call(port, 'GET', `/v1/executions/${'r'.repeat(10_000)}`, {
      headers: { host: own() },
    });
    expect(long.status).toBe(404);
    expect(long.body.detail).toContain('a run id is 1 to 128');
    const deep = await call(port, 'POST', '/v1/executions', {
      headers: { host: own(), 'content-type': 'application/json' },
      body: `{"workflow_id":"hello","inputs":{"name":${'['.repeat(4_000)}${']'.repeat(4_000)}}}`,
    });
    expect(deep.status).toBe(400);
    const huge = await call(port, 'POST', '/v1/executions', {
      headers: { host: own(), 'content-type': 'application/json' },
      body: '{"workflow_id":"hello","inputs":{"name":1e309}}',
    });
    expect(huge.status).toBe(400);
  });
});

describe('local server: bodies over the limit', () => {
  const post = (headers: string[], body = '') =>
    `POST /v1/executions HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\n${headers.join('\r\n')}\r\n\r\n${body}`;
  const healthz = () => `GET /healthz HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`;
  const status = (head: string) => Number(head.split(' ')[1]);

  it('keeps a keep-alive connection usable after a 413', async () => {
    const body = `"${'x'.repeat(LIMIT + 2_000)}"`;
    const request = post([`content-length: ${body.length}`], body);
    // In three parts: the server sees the limit passed while the rest of the body is still coming.
    const parts = [request.slice(0, 6_000), request.slice(6_000, 12_000), request.slice(12_000)];
    const { answers, ended } = await exchange(port, [parts, healthz(), healthz()]);
    expect(answers.map((a) => status(a.head))).toEqual([413, 200, 200]);
    expect(ended).toBe('open');
  });

  it('says Connection: close and closes for a body beyond what it drains, never reading the rest as a request', async () => {
    // The whole body at once, 30 times the limit: more than the server reads and drops (twice the limit).
    const { answers, ended } = await exchange(port, [
      post([`content-length: ${LIMIT * 30}`], 'x'.repeat(LIMIT * 30)),
      healthz(),
    ]);
    expect(answers).toHaveLength(1);
    expect(status(answers[0]!.head)).toBe(413);
    expect(answers[0]!.head).toMatch(/\r\nconnection: close/i);
    expect(ended).not.toBe('open');
  });

  it('closes cleanly for a body announced over what it drains, without waiting for it', async () => {
    const { answers, ended } = await exchange(port, [
      post([`content-length: ${LIMIT * 100}`], 'x'.repeat(1_000)),
    ]);
    expect(status(answers[0]!.head)).toBe(413);
    expect(answers[0]!.head).toMatch(/\r\nconnection: close/i);
    expect(ended).toBe('end');
  });

  it('answers Expect: 100-continue with the 413 itself, before any body is sent', async () => {
    const { answers } = await exchange(port, [
      post([`content-length: ${LIMIT + 1}`, 'expect: 100-continue']),
    ]);
    expect(answers[0]!.head).not.toContain('100 Continue');
    expect(status(answers[0]!.head)).toBe(413);
    expect(answers[0]!.head).toMatch(/\r\nconnection: close/i);
  });

  it('says the same Problem Details for every 413: declared, sent, or chunked', async () => {
    const sent = `"${'x'.repeat(LIMIT + 10)}"`;
    const chunk = (text: string) => `${text.length.toString(16)}\r\n${text}\r\n`;
    const bodies: string[] = [];
    for (const request of [
      post([`content-length: ${sent.length}`], sent),
      post([`content-length: ${LIMIT * 100}`]),
      post(
        ['transfer-encoding: chunked'],
        `${chunk(sent.slice(0, 5_000))}${chunk(sent.slice(5_000))}0\r\n\r\n`,
      ),
    ]) {
      const { answers } = await exchange(port, [request]);
      expect(status(answers[0]!.head)).toBe(413);
      expect(answers[0]!.head).toMatch(/content-type: application\/problem\+json/i);
      bodies.push(answers[0]!.body);
    }
    expect(JSON.parse(bodies[0]!)).toEqual({
      type: 'about:blank',
      title: 'Content Too Large',
      status: 413,
      detail: `The body is larger than the limit of ${LIMIT} bytes`,
    });
    expect(new Set(bodies).size).toBe(1);
  });
});
