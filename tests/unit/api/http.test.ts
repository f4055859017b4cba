import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ThrottledError } from '../../../shared/errors.js';
import { setUp } from './support.js';

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

  it('answers 413 for a body over the limit', async () => {
    const t = await setUp({ maxBodyBytes: 100 });
    const answer = await t.call('POST', '/v1/workflows', { body: { padding: 'x'.repeat(200) } });
    expect(answer.status).toBe(413);
  });

  it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    const t = await setUp();
    expect((await t.call('GET', '/v1/nothing')).status).toBe(404);
    const wrong = await t.call('PATCH', '/v1/workflows');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.allow).toContain('GET');
  });

  it('requires an API key when keys are set', async () => {
    const t = await setUp({ apiKeys: { hashes: [sha256('s3cret')] } });
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
