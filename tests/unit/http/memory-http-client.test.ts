/** The in-memory HttpClient keeps the port's rules: URL checks, literal-address SSRF, time, size, abort. */
import { describe, expect, it } from 'vitest';
import { StepError } from '../../../shared/errors.js';
import { createMemoryHttpClient } from '../../../shared/http/memory-http-client.js';
import type { HttpRequest } from '../../../shared/ports/index.js';

function request(url: string, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method: 'GET',
    url,
    headers: {},
    timeoutMs: 1000,
    maxResponseBytes: 1000,
    allowPrivateNetwork: false,
    ...overrides,
  };
}

const ok = () => ({ status: 200, body: 'ok' });

describe('createMemoryHttpClient', () => {
  it('answers with what the handler answers and records the request', async () => {
    const client = createMemoryHttpClient((req) => ({
      status: 201,
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ echo: req.body }),
    }));

    const response = await client.request(
      request('https://api.example.com/v1', { method: 'POST', body: 'hi' }),
    );

    expect(response).toEqual({
      status: 201,
      headers: { 'content-type': 'application/json' },
      body: '{"echo":"hi"}',
      url: 'https://api.example.com/v1',
    });
    expect(client.requests.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', 'https://api.example.com/v1', 'hi'],
    ]);
  });

  it.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://[::1]/',
    'http://169.254.169.254/latest/meta-data',
  ])('refuses %s without allowPrivateNetwork, and the handler never sees it', async (url) => {
    const client = createMemoryHttpClient(ok);

    await expect(client.request(request(url))).rejects.toMatchObject({
      code: 'HttpTargetForbidden',
      retryable: false,
    });
    expect(client.requests).toHaveLength(0);
  });

  it('lets a literal private address through with allowPrivateNetwork', async () => {
    const client = createMemoryHttpClient(ok);

    const response = await client.request(request('http://10.0.0.5:8080/', { allowPrivateNetwork: true }));

    expect(response.status).toBe(200);
  });

  it('cannot resolve names, so it lets localhost through', async () => {
    const client = createMemoryHttpClient(ok);

    const response = await client.request(request('http://localhost/'));

    expect(response.status).toBe(200);
  });

  it('refuses schemes other than http and https', async () => {
    const client = createMemoryHttpClient(ok);

    await expect(client.request(request('file:///etc/passwd'))).rejects.toMatchObject({
      code: 'HttpTargetForbidden',
    });
  });

  it('refuses a body over maxResponseBytes, counted in bytes', async () => {
    const client = createMemoryHttpClient(() => ({ status: 200, body: 'é'.repeat(6) }));

    await expect(
      client.request(request('https://api.example.com/', { maxResponseBytes: 11 })),
    ).rejects.toMatchObject({
      code: 'HttpResponseTooLarge',
      retryable: false,
    });
  });

  it('times out a handler that takes longer than timeoutMs', async () => {
    const client = createMemoryHttpClient(() => new Promise(() => {}));

    await expect(
      client.request(request('https://api.example.com/', { timeoutMs: 20 })),
    ).rejects.toMatchObject({
      code: 'HttpTimeout',
      retryable: true,
    });
  });

  it('gives up when the signal aborts', async () => {
    const client = createMemoryHttpClient(() => new Promise(() => {}));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 10);

    await expect(
      client.request(request('https://api.example.com/', { signal: controller.signal })),
    ).rejects.toMatchObject({ code: 'HttpAborted' });
  });

  it('turns a handler that throws into a network error, and passes StepErrors on as they are', async () => {
    const broken = createMemoryHttpClient(() => {
      throw new Error('connection reset');
    });
    const timeout = new StepError('HttpTimeout', 'simulated', { retryable: true });
    const slow = createMemoryHttpClient(() => Promise.reject(timeout));

    await expect(broken.request(request('https://api.example.com/'))).rejects.toMatchObject({
      code: 'HttpNetworkError',
      retryable: true,
    });
    await expect(slow.request(request('https://api.example.com/'))).rejects.toBe(timeout);
  });
});
