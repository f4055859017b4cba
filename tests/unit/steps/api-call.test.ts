/** The `api_call` step against real servers on 127.0.0.1: the request it builds, its output, its failures. */

import { type ServerResponse, STATUS_CODES } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../../../package.json' with { type: 'json' };
import { ManualClock } from '../../../shared/adapters/clock.js';
import { sequentialIds } from '../../../shared/adapters/ids.js';
import type { Awaitable } from '../../../shared/awaitable.js';
import { StepError } from '../../../shared/errors.js';
import { Redactor } from '../../../shared/expressions/redactor.js';
import { createMemoryHttpClient } from '../../../shared/http/memory-http-client.js';
import { createNodeHttpClient } from '../../../shared/http/node-http-client.js';
import type { HttpClient } from '../../../shared/ports/index.js';
import { type ApiCallConfig, apiCall, apiCallConfig } from '../../../shared/steps/api-call.js';
import type { StepExecutionContext } from '../../../shared/steps/types.js';
import { type LoopbackServer, type ReceivedRequest, startLoopbackServer } from '../http/loopback-server.js';

type Reply = (request: ReceivedRequest, response: ServerResponse) => void;

let reply: Reply = (_req, res) => res.end();
let server: LoopbackServer;
const http = createNodeHttpClient();
const clock = new ManualClock('2026-01-01T00:00:00.000Z');

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => reply(req, res));
});

afterEach(() => {
  server.received.length = 0;
  reply = (_req, res) => res.end();
});

afterAll(async () => {
  http.close();
  await server.close();
});

interface ContextOptions {
  http?: HttpClient;
  allowPrivateNetwork?: boolean;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** One attempt of step `send` in its second visit of run `run_1`, with config as it arrives rendered. */
function contextFor(
  config: Record<string, unknown>,
  options: ContextOptions = {},
): StepExecutionContext<ApiCallConfig> {
  const notUsed = (port: string) => () => {
    throw new Error(`api_call does not use ${port}`);
  };
  const run = {
    id: 'run_1',
    workflow_id: 'onboarding',
    workflow_version: 1,
    started_at: '2026-01-01T00:00:00.000Z',
  };
  return {
    run,
    step: { id: 'send', type: 'api_call', config },
    visit: 2,
    attempt: 1,
    depth: 0,
    treeRoot: run.id,
    idempotencyKey: 'run_1:send:2',
    config: apiCallConfig.parse(config),
    context: { inputs: {}, static: {}, profile: undefined, steps: {}, run },
    evaluate: notUsed('expressions'),
    render: notUsed('expressions'),
    redact: (value) => value,
    deps: {
      http: options.http ?? http,
      ai: { name: 'none', generate: notUsed('ai') },
      children: { start: notUsed('children'), cancel: notUsed('children') },
      templates: { get: notUsed('templates'), pinned: notUsed('templates') },
      clock,
      ids: sequentialIds(),
      allowPrivateNetwork: options.allowPrivateNetwork ?? true,
      allowLoopback: options.allowPrivateNetwork ?? true,
    },
    signal: options.signal ?? new AbortController().signal,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    now: clock.now(),
    emit: notUsed('events'),
  };
}

async function failure(attempt: Awaitable<unknown>): Promise<StepError> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof StepError) return error;
    throw error;
  }
  throw new Error('expected the step to fail');
}

const answer =
  (status: number, body = '', headers: Record<string, string> = {}): Reply =>
  (_req, res) =>
    res.writeHead(status, headers).end(body);

describe('api_call: the request', () => {
  it('sends Idempotency-Key <run_id>:<step_id>:<visit>, replacing one set in the workflow', async () => {
    await apiCall.execute(contextFor({ url: `${server.origin}/`, headers: { 'Idempotency-Key': 'mine' } }));

    expect(server.received[0]?.headers['idempotency-key']).toBe('run_1:send:2');
  });

  it('says who calls in User-Agent, unless the workflow sets its own', async () => {
    await apiCall.execute(contextFor({ url: `${server.origin}/` }));
    await apiCall.execute(contextFor({ url: `${server.origin}/`, headers: { 'User-Agent': 'acme/1' } }));

    expect(server.received.map((r) => r.headers['user-agent'])).toEqual([
      `flowrunner/${packageJson.version}`,
      'acme/1',
    ]);
  });

  it.each([
    ['', '/v1/send', '/v1/send'],
    ['/api', 'v1/send', '/api/v1/send'],
    ['/api/', '/v1/send', '/api/v1/send'],
    ['/api//', '//v1/send', '/api/v1/send'],
    ['/api', '/v1/send?x=1', '/api/v1/send?x=1'],
  ])('joins base_url …%s and url %s into %s', async (basePath, url, path) => {
    await apiCall.execute(contextFor({ base_url: `${server.origin}${basePath}`, url }));

    expect(server.received[0]?.url).toBe(path);
  });

  it('takes an absolute url on the origin of base_url as it is', async () => {
    await apiCall.execute(contextFor({ base_url: `${server.origin}/v1`, url: `${server.origin}/direct` }));

    expect(server.received[0]?.url).toBe('/direct');
  });

  it("refuses an absolute url that would take a service's headers to another origin", async () => {
    const attempt = apiCall.execute(
      contextFor({
        base_url: 'https://api.example.com/v1',
        url: `${server.origin}/steal`,
        headers: { authorization: 'Bearer token' },
      }),
    );

    await expect(attempt).rejects.toMatchObject({ code: 'HttpTargetForbidden', retryable: false });
    expect(server.received).toHaveLength(0);
  });

  it('refuses a relative url when there is no base_url', async () => {
    const error = await failure(apiCall.execute(contextFor({ url: '/v1/send' })));

    expect(error).toMatchObject({ code: 'HttpInvalidUrl', retryable: false });
    expect(error.message).toContain('no base_url');
  });

  it('appends query values URL-encoded, after the query the url already has', async () => {
    await apiCall.execute(
      contextFor({
        url: `${server.origin}/search?fixed=a%2Bb`,
        query: { q: 'a b&c=d', n: 3, flag: true, ключ: 'é/?' },
      }),
    );

    expect(server.received[0]?.url).toBe(
      '/search?fixed=a%2Bb&q=a%20b%26c%3Dd&n=3&flag=true&%D0%BA%D0%BB%D1%8E%D1%87=%C3%A9%2F%3F',
    );
  });

  it('sends header names lower-cased and number and boolean values as text', async () => {
    await apiCall.execute(
      contextFor({ url: `${server.origin}/`, headers: { 'X-Api-Version': 2, 'X-Debug': true } }),
    );

    expect(server.received[0]?.headers).toMatchObject({ 'x-api-version': '2', 'x-debug': 'true' });
  });

  it.each([
    ['a value with CR LF', { 'X-Note': 'ok\r\nX-Admin: yes' }],
    ['a value with LF', { 'X-Note': 'ok\nX-Admin: yes' }],
    ['a value with NUL', { 'X-Note': 'ok\0' }],
    ['a name with a colon', { 'X-Admin: yes\r\nX-Note': 'ok' }],
    ['a name with a space', { 'X Note': 'ok' }],
  ])('refuses %s, sends nothing and does not quote the value', async (_name, headers) => {
    const error = await failure(apiCall.execute(contextFor({ url: `${server.origin}/`, headers })));

    expect(error).toMatchObject({ code: 'InvalidHeader', retryable: false });
    expect(error.message).not.toContain('ok');
    expect(server.received).toHaveLength(0);
  });

  it('sends a JSON body as application/json', async () => {
    await apiCall.execute(
      contextFor({ method: 'POST', url: `${server.origin}/`, body: { to: 'ada', n: [1, 2] } }),
    );

    expect(server.received[0]).toMatchObject({ method: 'POST', body: '{"to":"ada","n":[1,2]}' });
    expect(server.received[0]?.headers['content-type']).toBe('application/json');
  });

  it('keeps the content type the workflow gives for a JSON body', async () => {
    await apiCall.execute(
      contextFor({
        method: 'POST',
        url: `${server.origin}/`,
        headers: { 'Content-Type': 'application/vnd.api+json' },
        body: { data: {} },
      }),
    );

    expect(server.received[0]?.headers['content-type']).toBe('application/vnd.api+json');
    expect(server.received[0]?.body).toBe('{"data":{}}');
  });

  it('sends a string body as it is', async () => {
    await apiCall.execute(
      contextFor({
        method: 'PUT',
        url: `${server.origin}/`,
        headers: { 'content-type': 'application/xml' },
        body: '<a>{"not":"json"}</a>',
      }),
    );

    expect(server.received[0]).toMatchObject({ method: 'PUT', body: '<a>{"not":"json"}</a>' });
    expect(server.received[0]?.headers['content-type']).toBe('application/xml');
  });

  it('sends no body and no content type for a null body', async () => {
    await apiCall.execute(contextFor({ method: 'POST', url: `${server.origin}/`, body: null }));

    expect(server.received[0]?.body).toBe('');
    expect(server.received[0]?.headers['content-type']).toBeUndefined();
  });

  it('hands the port the limits of the config and the network setting of the deployment', async () => {
    const memory = createMemoryHttpClient(() => ({ status: 200 }));

    await apiCall.execute(
      contextFor(
        { url: 'https://api.example.com/v1', timeout_s: 12, max_response_bytes: 2048 },
        { http: memory, allowPrivateNetwork: false },
      ),
    );

    expect(memory.requests[0]).toMatchObject({
      method: 'GET',
      url: 'https://api.example.com/v1',
      timeoutMs: 12_000,
      maxResponseBytes: 2048,
      allowPrivateNetwork: false,
    });
  });

  it('never waits longer than the attempt has left', async () => {
    const memory = createMemoryHttpClient(() => ({ status: 200 }));

    await apiCall.execute(
      contextFor({ url: 'https://api.example.com/', timeout_s: 30 }, { http: memory, timeoutMs: 1500 }),
    );

    expect(memory.requests[0]?.timeoutMs).toBe(1500);
  });
});

describe('api_call: the output', () => {
  it('gives status, headers and the parsed JSON body', async () => {
    reply = answer(201, '{"id":"m_1"}', {
      'content-type': 'application/json; charset=utf-8',
      'x-request-id': 'r9',
    });

    const result = await apiCall.execute(contextFor({ method: 'POST', url: `${server.origin}/`, body: {} }));

    expect(result).toMatchObject({
      status: 'completed',
      outcome: 'success',
      output: { status: 201, body: { id: 'm_1' }, headers: { 'x-request-id': 'r9' } },
    });
  });

  it.each([
    ['application/problem+json', '{"title":"x"}', { title: 'x' }],
    ['application/json', 'not json', 'not json'],
    ['application/json', '', ''],
    ['text/plain', '{"looks":"like json"}', '{"looks":"like json"}'],
    ['text/html', '<p>hi</p>', '<p>hi</p>'],
  ])('with content type %s reads %j as %j', async (contentType, body, expected) => {
    reply = answer(200, body, { 'content-type': contentType });

    const result = await apiCall.execute(contextFor({ url: `${server.origin}/` }));

    expect(result).toMatchObject({ output: { body: expected } });
  });
});

describe('api_call: statuses', () => {
  it.each([
    [200, 'success', undefined],
    [201, 'success', undefined],
    [204, 'success', undefined],
    [301, 'failure', false],
    [400, 'failure', false],
    [404, 'failure', false],
    [409, 'failure', false],
    [429, 'failure', true],
    [500, 'failure', true],
    [503, 'failure', true],
  ])('with the default expect, %i is a %s (retryable: %s)', async (status, verdict, retryable) => {
    reply = answer(status, status === 204 ? '' : 'answer');

    const outcome = apiCall.execute(contextFor({ url: `${server.origin}/` }));

    if (verdict === 'success') {
      expect(await outcome).toMatchObject({ status: 'completed', output: { status } });
    } else {
      expect(await failure(outcome)).toMatchObject({ code: 'HttpError', retryable, details: { status } });
    }
  });

  it('counts the statuses in expect as success, by number, by pattern and by text', async () => {
    reply = answer(404, 'gone');

    const byNumber = await apiCall.execute(contextFor({ url: `${server.origin}/`, expect: [404] }));
    const byPattern = await apiCall.execute(contextFor({ url: `${server.origin}/`, expect: ['2xx', '4xx'] }));
    const byText = await apiCall.execute(contextFor({ url: `${server.origin}/`, expect: ['404'] }));

    for (const result of [byNumber, byPattern, byText]) {
      expect(result).toMatchObject({ status: 'completed', output: { status: 404, body: 'gone' } });
    }
  });

  it('fails a 2xx that expect does not list', async () => {
    reply = answer(200, 'ok');

    const error = await failure(apiCall.execute(contextFor({ url: `${server.origin}/`, expect: [201] })));

    expect(error).toMatchObject({ code: 'HttpError', retryable: false, details: { status: 200 } });
  });

  it('says what was called, what came back and why, without the query and with only the start of the body', async () => {
    reply = answer(422, `{"error":"email is invalid",\n  "detail":"${'x'.repeat(500)}"}`);

    const error = await failure(
      apiCall.execute(contextFor({ method: 'POST', url: `${server.origin}/v1/send?api_key=k3y`, body: {} })),
    );

    expect(error.message).toMatch(
      new RegExp(
        `^POST ${server.origin}/v1/send answered 422 Unprocessable Entity \\(expected 2xx\\): \\{"error":"email is invalid", "detail":"x+…$`,
      ),
    );
    expect(error.message).not.toContain('k3y');
    expect(error.message.length).toBeLessThan(400);
  });

  it('redacts the secrets a service echoes back before it cuts the body, so no part of one shows', async () => {
    const token = 'supersecretvalue123';
    const key = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----';
    const redactor = new Redactor();
    redactor.add(token);
    redactor.add(key);
    const redacting = { ...contextFor({ url: `${server.origin}/` }), redact: <T>(v: T) => redactor.scrub(v) };
    // The token straddles the excerpt's end; the key's line breaks would be collapsed into spaces.
    reply = answer(400, `${'x'.repeat(190)} ${token}`);
    expect((await failure(apiCall.execute(redacting))).message).not.toContain('supersec');
    reply = answer(400, `bad key: ${key}`);
    expect((await failure(apiCall.execute(redacting))).message).toMatch(/: bad key: \[REDACTED\]$/);
  });

  it("names every 4xx and 5xx status with node:http's reason phrase, without importing node:http", async () => {
    const statuses = Object.keys(STATUS_CODES)
      .map(Number)
      .filter((status) => status >= 400);
    for (const status of statuses) {
      reply = answer(status, '');
      const error = await failure(apiCall.execute(contextFor({ url: `${server.origin}/` })));
      expect(error.message).toContain(`answered ${status} ${STATUS_CODES[status]} (expected 2xx)`);
    }
  });

  it('reports Retry-After in seconds for a 429', async () => {
    reply = answer(429, '', { 'retry-after': '7' });

    const error = await failure(apiCall.execute(contextFor({ url: `${server.origin}/` })));

    expect(error).toMatchObject({ retryable: true, details: { status: 429, retry_after_s: 7 } });
  });

  it('reports a Retry-After date of a 503 as seconds from now', async () => {
    reply = answer(503, '', { 'retry-after': 'Thu, 01 Jan 2026 00:02:00 GMT' });

    const error = await failure(apiCall.execute(contextFor({ url: `${server.origin}/` })));

    expect(error.details).toEqual({ status: 503, retry_after_s: 120 });
  });
});

describe('api_call: limits and the network rule', () => {
  it('times out after timeout_s, and the timeout may be retried', async () => {
    reply = () => {};

    const error = await failure(apiCall.execute(contextFor({ url: `${server.origin}/`, timeout_s: 0.2 })));

    expect(error).toMatchObject({ code: 'HttpTimeout', retryable: true });
  });

  it('times out when the attempt has less time left than timeout_s', async () => {
    reply = () => {};
    const started = Date.now();

    const error = await failure(
      apiCall.execute(contextFor({ url: `${server.origin}/`, timeout_s: 30 }, { timeoutMs: 150 })),
    );

    expect(error.code).toBe('HttpTimeout');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a response over max_response_bytes, and that may not be retried', async () => {
    reply = answer(200, 'x'.repeat(2000));

    const error = await failure(
      apiCall.execute(contextFor({ url: `${server.origin}/`, max_response_bytes: 1000 })),
    );

    expect(error).toMatchObject({ code: 'HttpResponseTooLarge', retryable: false });
  });

  it('fails on a JSON body nested deeper than a step output may be, without overflowing the stack', async () => {
    // 50,000 levels in 100 KB: stored, it overflowed every reader after it and the run could not go on.
    const deep = (levels: number) => `{"a":${'['.repeat(levels)}${']'.repeat(levels)}}`;
    reply = answer(200, deep(50_000), { 'content-type': 'application/json' });
    const error = await failure(apiCall.execute(contextFor({ url: `${server.origin}/` })));
    expect(error).toMatchObject({
      code: 'HttpResponseTooDeep',
      retryable: false,
      details: { max_depth: 1000 },
    });
    // As deep as a step's output may be is read as JSON; brackets inside strings do not count.
    reply = answer(200, deep(998), { 'content-type': 'application/json' });
    const result = await apiCall.execute(contextFor({ url: `${server.origin}/` }));
    expect(result).toMatchObject({ status: 'completed', output: { body: { a: expect.any(Array) } } });
    // Found before parsing: text that opens that many brackets is refused whether it parses or not.
    reply = answer(200, '['.repeat(5_000), { 'content-type': 'application/json' });
    expect(await failure(apiCall.execute(contextFor({ url: `${server.origin}/` })))).toMatchObject({
      code: 'HttpResponseTooDeep',
    });
    reply = answer(200, JSON.stringify({ text: '['.repeat(5_000) }), { 'content-type': 'application/json' });
    expect(await apiCall.execute(contextFor({ url: `${server.origin}/` }))).toMatchObject({
      output: { body: { text: '['.repeat(5_000) } },
    });
  });

  it('refuses loopback when the deployment does not allow private networks', async () => {
    const error = await failure(
      apiCall.execute(contextFor({ url: `${server.origin}/` }, { allowPrivateNetwork: false })),
    );

    expect(error).toMatchObject({ code: 'HttpTargetForbidden', retryable: false });
    expect(error.message).toBe(
      'refused 127.0.0.1: loopback address; set FLOWRUNNER_ALLOW_PRIVATE_NETWORK=true to allow private networks',
    );
    expect(server.received).toHaveLength(0);
  });

  it('stops when the attempt is aborted', async () => {
    reply = () => {};
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    const error = await failure(
      apiCall.execute(contextFor({ url: `${server.origin}/` }, { signal: controller.signal })),
    );

    expect(error.code).toBe('HttpAborted');
  });
});

describe('api_call.check', () => {
  const check = (config: Record<string, unknown>) => apiCall.check!(apiCallConfig.parse(config));

  it('refuses what a run would refuse, when it is written without placeholders', () => {
    expect(check({ url: 'http://exa mple.com/' })).toEqual([
      { path: 'url', message: expect.stringMatching(/not a valid absolute URL/) },
    ]);
    expect(check({ url: 'ftp://files.example.com/a' })).toEqual([
      { path: 'url', message: expect.stringMatching(/refused ftp: URL/) },
    ]);
    expect(check({ url: 'https://user:pw@api.example.com/' })).toEqual([
      { path: 'url', message: expect.stringMatching(/with credentials/) },
    ]);
    expect(
      check({ url: 'https://api.example.com/', headers: { 'bad header': 'x', 'X-Ok': 'a\r\nb' } }),
    ).toEqual([
      { path: 'headers.bad header', message: expect.stringMatching(/not a valid HTTP header name/) },
    ]);
    expect(check({ url: 'https://api.example.com/', headers: { 'X-Ok': 'a\r\nb' } })).toEqual([
      { path: 'headers.X-Ok', message: expect.stringMatching(/line break/) },
    ]);
  });

  it('leaves to the run what placeholders make, and accepts what is fine', () => {
    expect(check({ url: '{{ inputs.url }}' })).toEqual([]);
    // Its service (perhaps unknown, which the validator says) would give it a base_url.
    expect(check({ url: '/items' })).toEqual([]);
    expect(check({ url: '/items', base_url: '{{ inputs.base }}' })).toEqual([]);
    expect(check({ url: '/items', base_url: 'https://api.example.com/v1', query: { q: 'x' } })).toEqual([]);
    expect(
      check({ url: 'https://api.example.com/', headers: { Authorization: 'Bearer {{ secrets.t }}' } }),
    ).toEqual([]);
  });
});
