/** The node:http HttpClient against real servers on 127.0.0.1: SSRF checks, redirects, limits, errors. */
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StepError } from '../../../shared/errors.js';
import {
  type AddressPolicy,
  createNodeHttpClient,
  type NodeHttpClient,
} from '../../../shared/http/node-http-client.js';
import { decideAddress } from '../../../shared/net/ssrf.js';
import type { HttpRequest } from '../../../shared/ports/index.js';
import { closedPort, type LoopbackServer, startLoopbackServer } from './loopback-server.js';

/** Private networks stay refused, except 127.0.0.1 on the given test ports. */
const allowLoopbackPorts =
  (...ports: number[]): AddressPolicy =>
  (target, access) =>
    decideAddress(
      target.address,
      access === 'private' || (target.address === '127.0.0.1' && ports.includes(target.port)),
    );

function request(url: string, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return {
    method: 'GET',
    url,
    headers: {},
    timeoutMs: 5000,
    maxResponseBytes: 1_000_000,
    allowPrivateNetwork: true,
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<StepError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StepError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

const servers: LoopbackServer[] = [];
let client: NodeHttpClient;

async function serve(handler: Parameters<typeof startLoopbackServer>[0]): Promise<LoopbackServer> {
  const server = await startLoopbackServer(handler);
  servers.push(server);
  return server;
}

beforeEach(() => {
  client = createNodeHttpClient();
});

afterEach(async () => {
  client.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('createNodeHttpClient: an exchange', () => {
  it('answers with the status, the headers, the body and the final URL', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-trace': 'abc' }).end('{"id":7}');
    });

    const response = await client.request(request(`${server.origin}/things?a=1`));

    expect(response).toMatchObject({ status: 201, body: '{"id":7}', url: `${server.origin}/things?a=1` });
    expect(response.headers).toMatchObject({ 'content-type': 'application/json', 'x-trace': 'abc' });
  });

  it('sends the method, the path, lower-cased headers and the body with its length', async () => {
    const server = await serve((_req, res) => res.end());

    await client.request(
      request(`${server.origin}/v1/send?x=%20y`, {
        method: 'post',
        headers: { 'X-Custom': 'one', 'content-type': 'application/json' },
        body: '{"to":"ada"}',
      }),
    );

    const [received] = server.received;
    expect(received).toMatchObject({ method: 'POST', url: '/v1/send?x=%20y', body: '{"to":"ada"}' });
    expect(received?.headers).toMatchObject({ 'x-custom': 'one', 'content-length': '12' });
  });

  it('reuses one connection for consecutive requests to the same host', async () => {
    const server = await serve((_req, res) => res.end('ok'));

    for (let i = 0; i < 3; i += 1) await client.request(request(`${server.origin}/`));

    expect(server.received).toHaveLength(3);
    expect(server.connections()).toBe(1);
  });

  it('decompresses a gzip body', async () => {
    const server = await serve((_req, res) => {
      res
        .writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' })
        .end(gzipSync('hello, gzip'));
    });

    const response = await client.request(request(`${server.origin}/`));

    expect(response.body).toBe('hello, gzip');
  });

  it('decodes the body in the charset its content type names', async () => {
    const server = await serve((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/plain; charset=iso-8859-1' })
        .end(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    });

    const response = await client.request(request(`${server.origin}/`));

    expect(response.body).toBe('café');
  });

  it('answers a HEAD request with an empty body, whatever length it declares', async () => {
    const server = await serve((_req, res) => res.writeHead(200, { 'content-length': '5000' }).end());

    const response = await client.request(
      request(`${server.origin}/`, { method: 'HEAD', maxResponseBytes: 10 }),
    );

    expect(response).toMatchObject({ status: 200, body: '' });
  });
});

describe('createNodeHttpClient: the SSRF rule', () => {
  it('refuses localhost, which resolves to loopback, and names the host, the address and the remedy', async () => {
    const server = await serve((_req, res) => res.end('secret'));

    const error = await failure(
      client.request(request(`http://localhost:${server.port}/`, { allowPrivateNetwork: false })),
    );

    expect(error).toMatchObject({ code: 'HttpTargetForbidden', retryable: false });
    expect(error.message).toMatch(
      /^refused localhost \((127\.0\.0\.1|::1)\): loopback address; set FLOWRUNNER_ALLOW_PRIVATE_NETWORK=true to allow private networks$/,
    );
    expect(server.received).toHaveLength(0);
  });

  it('reaches localhost when private networks are allowed', async () => {
    const server = await serve((_req, res) => res.end('hello'));

    const response = await client.request(
      request(`http://localhost:${server.port}/`, { allowPrivateNetwork: true }),
    );

    expect(response.body).toBe('hello');
  });

  it.each([
    ['the decimal host', (port: number) => `http://2130706433:${port}/`],
    ['the hex and short host', (port: number) => `http://0x7f.1:${port}/`],
    ['the IPv4-mapped IPv6 host', (port: number) => `http://[::ffff:127.0.0.1]:${port}/`],
    ['the plain loopback address', (port: number) => `http://127.0.0.1:${port}/`],
  ])('refuses %s, because the address it names is loopback', async (_name, url) => {
    const server = await serve((_req, res) => res.end());

    const error = await failure(client.request(request(url(server.port), { allowPrivateNetwork: false })));

    expect(error).toMatchObject({ code: 'HttpTargetForbidden', details: { category: 'loopback' } });
    expect(server.received).toHaveLength(0);
  });

  it('connects to the very address it checked, and sends the name as Host', async () => {
    const server = await serve((_req, res) => res.end('via name'));
    const resolved: string[] = [];
    client = createNodeHttpClient({
      addressPolicy: allowLoopbackPorts(server.port),
      resolve: async (hostname) => {
        resolved.push(hostname);
        return [{ address: '127.0.0.1', family: 4 }];
      },
    });

    const response = await client.request(
      request(`http://api.test:${server.port}/`, { allowPrivateNetwork: false }),
    );

    expect(response.body).toBe('via name');
    expect(resolved).toEqual(['api.test']);
    expect(server.received[0]?.headers.host).toBe(`api.test:${server.port}`);
  });

  it('checks the address just the same when Node asks the lookup for one address only', async () => {
    const server = await serve((_req, res) => res.end('one address'));
    const resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    const autoSelect = net.getDefaultAutoSelectFamily();
    net.setDefaultAutoSelectFamily(false);
    try {
      const strict = createNodeHttpClient({ resolve });
      const refused = await failure(
        strict.request(request(`http://one.test:${server.port}/`, { allowPrivateNetwork: false })),
      );
      strict.close();
      client = createNodeHttpClient({ resolve, addressPolicy: allowLoopbackPorts(server.port) });
      const response = await client.request(
        request(`http://one.test:${server.port}/`, { allowPrivateNetwork: false }),
      );

      expect(refused.code).toBe('HttpTargetForbidden');
      expect(response.body).toBe('one address');
    } finally {
      net.setDefaultAutoSelectFamily(autoSelect);
    }
  });

  it('refuses a name when any one of its addresses is refused', async () => {
    const server = await serve((_req, res) => res.end());
    client = createNodeHttpClient({
      addressPolicy: allowLoopbackPorts(server.port),
      resolve: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '10.0.0.1', family: 4 },
      ],
    });

    const error = await failure(
      client.request(request(`http://mixed.test:${server.port}/`, { allowPrivateNetwork: false })),
    );

    expect(error.message).toMatch(/^refused mixed\.test \(10\.0\.0\.1\): private network address/);
    expect(server.received).toHaveLength(0);
  });

  it('keeps connections opened under allowPrivateNetwork away from requests that refuse private networks', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const url = `http://localhost:${server.port}/`;

    await client.request(request(url, { allowPrivateNetwork: true }));
    const error = await failure(client.request(request(url, { allowPrivateNetwork: false })));

    expect(error.code).toBe('HttpTargetForbidden');
    expect(server.received).toHaveLength(1);
  });

  it('refuses a redirect to a refused target, checking the new host again', async () => {
    const inside = await serve((_req, res) => res.end('internal data'));
    const outside = await serve((_req, res) =>
      res.writeHead(302, { location: `${inside.origin}/admin` }).end(),
    );
    client = createNodeHttpClient({ addressPolicy: allowLoopbackPorts(outside.port) });

    const error = await failure(
      client.request(request(`${outside.origin}/`, { allowPrivateNetwork: false })),
    );

    expect(error).toMatchObject({ code: 'HttpTargetForbidden', retryable: false });
    expect(error.message).toContain('refused 127.0.0.1: loopback address');
    expect(outside.received).toHaveLength(1);
    expect(inside.received).toHaveLength(0);
  });

  it('refuses a redirect to a scheme other than http and https', async () => {
    const server = await serve((_req, res) => res.writeHead(301, { location: 'file:///etc/passwd' }).end());

    const error = await failure(client.request(request(`${server.origin}/`)));

    expect(error).toMatchObject({ code: 'HttpTargetForbidden', details: { scheme: 'file' } });
  });
});

describe('createNodeHttpClient: redirects', () => {
  it('follows a relative Location and reports the final URL', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/old') res.writeHead(308, { location: '/new?x=1' }).end();
      else res.end(`at ${req.url}`);
    });

    const response = await client.request(request(`${server.origin}/old`));

    expect(response).toMatchObject({ status: 200, body: 'at /new?x=1', url: `${server.origin}/new?x=1` });
  });

  it.each([
    [301, 'GET', ''],
    [302, 'GET', ''],
    [303, 'GET', ''],
    [307, 'POST', '{"a":1}'],
    [308, 'POST', '{"a":1}'],
  ])('after a %i to a POST, sends %s with body %j', async (status, method, body) => {
    const server = await serve((req, res) => {
      if (req.url === '/start') res.writeHead(status, { location: '/next' }).end();
      else res.end();
    });

    await client.request(
      request(`${server.origin}/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      }),
    );

    const next = server.received[1];
    expect(next).toMatchObject({ method, url: '/next', body });
    expect(next?.headers['content-type']).toBe(body === '' ? undefined : 'application/json');
  });

  it('sends on to another origin only the headers that describe the request, none that may be a credential', async () => {
    const other = await serve((_req, res) => res.end());
    const first = await serve((_req, res) =>
      res.writeHead(307, { location: `${other.origin}/landing` }).end(),
    );
    const headers = {
      Authorization: 'Bearer t0ken',
      Cookie: 'session=1',
      'X-Api-Key': 'k3y',
      'Private-Token': 't0k',
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'User-Agent': 'flowrunner-test',
      'Idempotency-Key': 'run:step:1',
    };

    await client.request(request(`${first.origin}/`, { method: 'POST', headers, body: '{}' }));

    expect(first.received[0]?.headers).toMatchObject({
      authorization: 'Bearer t0ken',
      cookie: 'session=1',
      'x-api-key': 'k3y',
      'private-token': 't0k',
    });
    const sent = other.received[0]!.headers;
    for (const name of ['authorization', 'cookie', 'x-api-key', 'private-token']) {
      expect(sent[name]).toBeUndefined();
    }
    expect(sent).toMatchObject({
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': 'flowrunner-test',
      'idempotency-key': 'run:step:1',
    });
    expect(other.received[0]).toMatchObject({ method: 'POST', body: '{}' });
  });

  it('keeps every header on a redirect within the same origin', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/a') res.writeHead(307, { location: '/b' }).end();
      else res.end();
    });

    await client.request(
      request(`${server.origin}/a`, { headers: { authorization: 'Bearer t0ken', 'x-api-key': 'k3y' } }),
    );

    expect(server.received[1]?.headers).toMatchObject({ authorization: 'Bearer t0ken', 'x-api-key': 'k3y' });
  });

  it('follows five redirects and refuses the sixth', async () => {
    const redirectTo = (limit: number) => (req: { url: string }, res: import('node:http').ServerResponse) => {
      const n = Number(req.url.slice(1));
      if (n < limit) res.writeHead(302, { location: `/${n + 1}` }).end();
      else res.end(`done after ${n}`);
    };
    const fiveHops = await serve(redirectTo(5));
    const endless = await serve(redirectTo(Number.POSITIVE_INFINITY));

    const ok = await client.request(request(`${fiveHops.origin}/0`));
    const error = await failure(client.request(request(`${endless.origin}/0`)));

    expect(ok.body).toBe('done after 5');
    expect(error).toMatchObject({ code: 'HttpTooManyRedirects', retryable: false });
    expect(endless.received).toHaveLength(6);
  });

  it('treats any redirect as one too many when maxRedirects is 0', async () => {
    const server = await serve((_req, res) => res.writeHead(302, { location: '/elsewhere' }).end());

    const error = await failure(client.request(request(`${server.origin}/`, { maxRedirects: 0 })));

    expect(error.code).toBe('HttpTooManyRedirects');
    expect(server.received).toHaveLength(1);
  });
});

describe('createNodeHttpClient: time, size and failures', () => {
  it('times out when the server does not answer, and says it may be retried', async () => {
    const server = await serve(() => {});
    const started = Date.now();

    const error = await failure(client.request(request(`${server.origin}/`, { timeoutMs: 200 })));

    expect(error).toMatchObject({ code: 'HttpTimeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out when the body never ends', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });

    const error = await failure(client.request(request(`${server.origin}/`, { timeoutMs: 200 })));

    expect(error.code).toBe('HttpTimeout');
  });

  it('counts the time of the whole exchange, across redirects', async () => {
    const server = await serve((req, res) => {
      const n = Number(req.url?.slice(1));
      setTimeout(() => {
        if (n < 4) res.writeHead(302, { location: `/${n + 1}` }).end();
        else res.end('late');
      }, 120);
    });

    const error = await failure(client.request(request(`${server.origin}/0`, { timeoutMs: 350 })));

    expect(error.code).toBe('HttpTimeout');
    expect(server.received.length).toBeLessThan(5);
  });

  it('refuses a body whose declared length is over the limit, and closes the connection', async () => {
    let closed: () => void = () => {};
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = await serve((_req, res) => {
      res.socket?.on('close', () => closed());
      res.end('x'.repeat(101));
    });

    const error = await failure(client.request(request(`${server.origin}/`, { maxResponseBytes: 100 })));

    await connectionClosed;
    expect(error).toMatchObject({
      code: 'HttpResponseTooLarge',
      retryable: false,
      details: { max_response_bytes: 100 },
    });
  });

  it('stops reading a streamed body at the limit and closes the connection', async () => {
    let closed: () => void = () => {};
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('y'.repeat(1024)), 5);
      res.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });

    const error = await failure(client.request(request(`${server.origin}/`, { maxResponseBytes: 4096 })));

    expect(error.code).toBe('HttpResponseTooLarge');
    await connectionClosed;
  });

  it('accepts a body of exactly the limit', async () => {
    const server = await serve((_req, res) => res.end('z'.repeat(100)));

    const response = await client.request(request(`${server.origin}/`, { maxResponseBytes: 100 }));

    expect(response.body).toHaveLength(100);
  });

  it('applies the limit to the decompressed body', async () => {
    const bomb = gzipSync(Buffer.alloc(1_000_000, 0x61));
    const server = await serve((_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb));

    const error = await failure(client.request(request(`${server.origin}/`, { maxResponseBytes: 10_000 })));

    expect(bomb.length).toBeLessThan(10_000);
    expect(error.code).toBe('HttpResponseTooLarge');
  });

  it('turns a refused connection into a network error that may be retried', async () => {
    const port = await closedPort();

    const error = await failure(client.request(request(`http://127.0.0.1:${port}/`)));

    expect(error).toMatchObject({
      code: 'HttpNetworkError',
      retryable: true,
      details: { error: 'ECONNREFUSED' },
    });
    expect(error.message).toContain(`127.0.0.1:${port}`);
  });

  it('turns a name that does not resolve into a network error', async () => {
    client = createNodeHttpClient({
      resolve: async (hostname) => {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      },
    });

    const error = await failure(client.request(request('http://nowhere.test/')));

    expect(error).toMatchObject({
      code: 'HttpNetworkError',
      retryable: true,
      details: { error: 'ENOTFOUND' },
    });
  });

  it('refuses a header value that would inject a header, before anything is sent', async () => {
    const server = await serve((_req, res) => res.end());

    const error = await failure(
      client.request(request(`${server.origin}/`, { headers: { 'x-note': 'a\r\nx-injected: 1' } })),
    );

    expect(error).toMatchObject({ code: 'HttpInvalidRequest', retryable: false });
    expect(server.received).toHaveLength(0);
  });
});

describe('createNodeHttpClient: the caller’s signal', () => {
  it('stops waiting for an answer when the signal aborts', async () => {
    const server = await serve(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);

    const error = await failure(client.request(request(`${server.origin}/`, { signal: controller.signal })));

    expect(error).toMatchObject({ code: 'HttpAborted', retryable: true });
  });

  it('stops reading the body when the signal aborts', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200);
      res.write('first part');
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);

    const error = await failure(client.request(request(`${server.origin}/`, { signal: controller.signal })));

    expect(error.code).toBe('HttpAborted');
  });

  it('sends nothing when the signal has already aborted', async () => {
    const server = await serve((_req, res) => res.end());

    const error = await failure(
      client.request(request(`${server.origin}/`, { signal: AbortSignal.abort() })),
    );

    expect(error.code).toBe('HttpAborted');
    expect(server.received).toHaveLength(0);
  });

  it('passes on the error the signal was aborted with', async () => {
    const server = await serve(() => {});
    const reason = new StepError('StepTimeout', 'the attempt ran out of time', { retryable: true });
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 50);

    const error = await failure(client.request(request(`${server.origin}/`, { signal: controller.signal })));

    expect(error).toBe(reason);
  });
});
