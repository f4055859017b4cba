import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { processSecrets } from '../../../shared/adapters/logger.js';
import { ThrottledError } from '../../../shared/errors.js';
import { ONBOARDING_YAML, setUp } from './support.js';

const sha256 = (key: string) => createHash('sha256').update(key).digest('hex');

describe('api framing and errors', () => {
  it('answers /healthz', async () => {
    const t = await setUp();
    expect(await t.call('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
  });

  it('answers 400 for malformed JSON, not 415', async () => {
    const t = await setUp();
    const answer = await t.call('POST', '/v1/workflows', {
      raw: '{"id": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ status: 400, title: 'Bad Request' });
    expect(answer.body.detail).toContain('not valid JSON');
  });

  it('answers 400 for malformed YAML', async () => {
    const t = await setUp();
    const answer = await t.call('POST', '/v1/workflows', {
      raw: 'id: [unclosed\nsteps: {',
      headers: { 'content-type': 'text/yaml' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toContain('YAML');
  });

  it('answers 413 for a body over the limit, by its size or by its declared length', async () => {
    const t = await setUp({ maxBodyBytes: 100 });
    const answer = await t.call('POST', '/v1/workflows', { body: { padding: 'x'.repeat(200) } });
    expect(answer.status).toBe(413);
    expect(answer.body).toMatchObject({
      title: 'Content Too Large',
      detail: 'The body is larger than the limit of 100 bytes',
    });
    // The local server does not read a body announced as too large: the API refuses it by its header.
    const declared = await t.call('POST', '/v1/workflows', { headers: { 'content-length': '5000' } });
    expect(declared.status).toBe(413);
    expect(declared.body).toEqual(answer.body);
  });

  it('does not read a body on GET or DELETE, which gives it no meaning, so it refuses nothing for it', async () => {
    const t = await setUp({ maxBodyBytes: 100 });
    const junk = { raw: 'x'.repeat(500), headers: { 'content-type': 'text/plain' } };
    expect((await t.call('GET', '/v1/workflows', junk)).status).toBe(200);
    await t.call('POST', '/v1/workflows', {
      body: {
        schema_version: '1.0',
        id: 'gone',
        steps: [{ id: 'a', type: 'transform', config: { output: 1 } }],
      },
    });
    expect((await t.call('DELETE', '/v1/workflows/gone', junk)).status).toBe(204);
  });

  it('reads JSON only from application/json: text/plain, forms and bodies without a type get 415', async () => {
    const t = await setUp();
    await t.startWaiting();
    const start = '{"workflow_id":"onboarding","inputs":{"customer":"Ada"}}';
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      undefined,
    ]) {
      const answer = await t.call('POST', '/v1/executions', {
        raw: start,
        headers: type === undefined ? {} : { 'content-type': type },
      });
      expect(answer.status, String(type)).toBe(415);
      expect(answer.body).toMatchObject({ title: 'Unsupported Media Type' });
      expect(answer.body.detail).toContain('application/json');
    }
    expect(t.started).toHaveLength(1); // the waiting run's own start, nothing since
    const json = await t.call('POST', '/v1/executions', {
      raw: start,
      headers: { 'content-type': 'Application/JSON; charset=utf-8' },
    });
    expect(json.status).toBe(202);
    const latin = await t.call('POST', '/v1/executions', {
      raw: start,
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    });
    expect(latin.status).toBe(415);
    // YAML is for workflows: other routes say which type they take.
    const yaml = await t.call('POST', '/v1/executions', {
      raw: 'workflow_id: onboarding',
      headers: { 'content-type': 'text/yaml' },
    });
    expect(yaml.status).toBe(415);
  });

  it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    const t = await setUp();
    expect((await t.call('GET', '/v1/nothing')).status).toBe(404);
    const wrong = await t.call('PATCH', '/v1/workflows');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toContain('GET');
  });

  it('requires an API key when keys are set', async () => {
    const t = await setUp({ apiKeys: { keys: [{ sha256: sha256('s3cret') }] } });
    const none = await t.call('GET', '/v1/workflows');
    expect(none.status).toBe(401);
    expect(none.headers['content-type']).toBe('application/problem+json');
    expect(
      (await t.call('GET', '/v1/workflows', { headers: { authorization: 'Bearer wrong' } })).status,
    ).toBe(401);
    expect(
      (await t.call('GET', '/v1/workflows', { headers: { authorization: 'Bearer s3cret' } })).status,
    ).toBe(200);
    expect((await t.call('GET', '/v1/workflows', { headers: { 'x-api-key': 's3cret' } })).status).toBe(200);
    expect((await t.call('GET', '/healthz')).status).toBe(200);
  });

  it('takes POST /v1/callbacks/{token} without an API key: the token is the credential', async () => {
    const t = await setUp({ apiKeys: { keys: [{ sha256: sha256('s3cret') }] } });
    const key = { authorization: 'Bearer s3cret' };
    const created = await t.call('POST', '/v1/workflows', {
      raw: ONBOARDING_YAML,
      headers: { ...key, 'content-type': 'text/yaml' },
    });
    expect(created.status).toBe(201);
    const started = await t.call('POST', '/v1/executions', {
      headers: key,
      body: { workflow_id: 'onboarding', inputs: { customer: 'Ada' } },
    });
    await t.drive(started.body.id);
    const run = await t.call('GET', `/v1/executions/${started.body.id}`, { headers: key });
    const token = run.body.waiting[0].callback_token as string;

    // A link in a mail carries no key.
    const unknown = await t.call('POST', `/v1/callbacks/${'x'.repeat(43)}`, { body: {} });
    expect(unknown.status).toBe(404);
    const answered = await t.call('POST', `/v1/callbacks/${token}`, {
      body: { inputs: { email: 'ada@example.com' } },
    });
    expect(answered.status).toBe(202);
    // Everything else still needs the key.
    expect((await t.call('GET', `/v1/executions/${started.body.id}`)).status).toBe(401);
    expect((await t.call('POST', `/v1/callbacks/${token}/other`, { body: {} })).status).toBe(401);
  });

  it('answers CORS preflights and adds the origin header, errors included', async () => {
    const t = await setUp();
    const preflight = await t.call('OPTIONS', '/v1/executions', {
      headers: { origin: 'http://localhost:5173' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    expect((await t.call('GET', '/v1/executions/nope')).headers['access-control-allow-origin']).toBe('*');
    const listed = await setUp({ corsOrigins: ['https://console.example.com'] });
    const ok = await listed.call('GET', '/healthz', { headers: { origin: 'https://console.example.com' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://console.example.com');
    const other = await listed.call('GET', '/healthz', { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('with a Host allow-list (the local server), refuses other Hosts and other origins with 403', async () => {
    const t = await setUp({ hosts: () => ['127.0.0.1:3000'], corsOrigins: ['http://localhost:5173'] });
    const ok = await t.call('GET', '/v1/workflows', { headers: { host: '127.0.0.1:3000' } });
    expect(ok.status).toBe(200);
    const rebound = await t.call('GET', '/v1/workflows', { headers: { host: 'attacker.example:3000' } });
    expect(rebound).toMatchObject({ status: 403, body: { title: 'Forbidden' } });
    expect((await t.call('GET', '/healthz')).status).toBe(403); // no Host at all
    const foreign = await t.call('OPTIONS', '/v1/workflows', {
      headers: { host: '127.0.0.1:3000', origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    const allowed = await t.call('OPTIONS', '/v1/workflows', {
      headers: { host: '127.0.0.1:3000', origin: 'http://localhost:5173' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    const own = await t.call('DELETE', '/v1/workflows/nope', {
      headers: { host: '127.0.0.1:3000', origin: 'http://127.0.0.1:3000' },
    });
    expect(own.status).toBe(404);
  });

  it('hides the details of a 500 and logs its message', async () => {
    const t = await setUp();
    t.stores.workflows.list = async () => {
      throw new Error('disk on fire at /var/secret');
    };
    const answer = await t.call('GET', '/v1/workflows');
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toContain('disk on fire');
    expect(t.errors).toEqual([expect.stringContaining('disk on fire')]);
  });

  it('logs an unhandled error as a redacted JSON line of the process logger by default', async () => {
    const secret = 'disk-key-5f0c2a9e71';
    processSecrets.add(secret);
    const t = await setUp({ logger: undefined });
    t.stores.workflows.list = async () => {
      throw new Error(`disk on fire with ${secret} at ops@example.com`);
    };
    const written: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    try {
      expect((await t.call('GET', '/v1/workflows')).status).toBe(500);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
    // One line, JSON, at level ERROR, with neither the secret nor the address: it was plain text
    // on stderr, as the error's message had it.
    const lines = written
      .join('')
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'ERROR', service: 'flowrunner' });
    expect(line.message).toContain('disk on fire');
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).not.toContain('ops@example.com');
  });

  it('answers 503 with Retry-After when the store is throttled', async () => {
    const t = await setUp();
    t.stores.workflows.list = async () => {
      throw new ThrottledError('slow down');
    };
    const answer = await t.call('GET', '/v1/workflows');
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
  });
});
