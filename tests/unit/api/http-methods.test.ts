/**
 * HEAD and OPTIONS (RFC 9110 §9.3.2, §9.3.7): HEAD answers as GET would, without the body, on the
 * Lambda's answer and over real HTTP from the local server; OPTIONS of an unknown path is a 404.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startServerInProcess, useServer } from '../../support/server-process.js';
import { setUp } from './support.js';

/** Without the headers that differ from one answer to the next. */
function stable(headers: Record<string, unknown>): Record<string, unknown> {
  const { date: _date, 'x-request-id': _id, traceparent: _trace, ...rest } = headers;
  return rest;
}

describe('api HEAD', () => {
  it('answers HEAD on a GET route as GET does: the same status and headers', async () => {
    const t = await setUp();
    const id = await t.startWaiting();
    for (const path of [
      '/healthz',
      '/v1/executions',
      `/v1/executions/${id}`,
      `/v1/executions/${id}/events`,
    ]) {
      const get = await t.call('GET', path);
      const head = await t.call('HEAD', path);
      expect(head.status, path).toBe(get.status);
      expect(stable(head.headers), path).toEqual(stable(get.headers));
    }
    // An unknown run: the same 404 as GET.
    expect((await t.call('HEAD', '/v1/executions/run_nope')).status).toBe(404);
  });

  it('lists HEAD beside GET in Allow on a 405', async () => {
    const t = await setUp();
    const wrong = await t.call('PATCH', '/healthz');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toBe('GET, HEAD');
    const both = await t.call('PATCH', '/v1/workflows');
    expect(both.headers.allow?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
    // A path with no GET has no HEAD either.
    const post = await t.call('HEAD', '/v1/executions/run_1/cancel');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('POST');
  });

  it('answers OPTIONS of an unknown path with 404, and of a known one with its methods', async () => {
    const t = await setUp();
    const unknown = await t.call('OPTIONS', '/v1/nothing');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toBe('application/problem+json');
    const known = await t.call('OPTIONS', '/healthz', { headers: { origin: 'http://localhost:5173' } });
    expect(known.status).toBe(204);
    expect(known.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
    expect(known.headers.allow).toBe('GET, HEAD, OPTIONS');
  });
});

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  bytes: number;
}

/** One request on its own connection, counting the bytes of the body that came. */
function raw(url: string, method: string, path: string): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('local server: HEAD over HTTP', () => {
  const server = useServer(() =>
    startServerInProcess({ FLOWRUNNER_API_KEYS: '', LOG_LEVEL: 'SILENT' }, { examplesDir: undefined }),
  );

  it("sends GET's status and Content-Length, and no body", async () => {
    for (const path of ['/healthz', '/v1/executions', '/openapi.json', '/v1/executions/run_nope']) {
      const get = await raw(server.url, 'GET', path);
      const head = await raw(server.url, 'HEAD', path);
      expect(head.status, path).toBe(get.status);
      expect(get.bytes, path).toBeGreaterThan(0);
      expect(head.headers['content-length'], path).toBe(String(get.bytes));
      expect(head.headers['content-type'], path).toBe(get.headers['content-type']);
      expect(head.bytes, path).toBe(0);
    }
  });

  it('answers OPTIONS of an unknown path with 404', async () => {
    expect((await raw(server.url, 'OPTIONS', '/v1/nothing')).status).toBe(404);
  });
});
