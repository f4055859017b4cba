import { describe, expect, it } from 'vitest';
import { ONBOARDING_YAML, setUp } from './support.js';

const jsonWorkflow = {
  schema_version: '1.0',
  id: 'hello',
  steps: [{ id: 'say', type: 'transform', config: { output: 'hi' } }],
};

describe('api /v1/workflows', () => {
  it('creates a workflow from YAML and from JSON', async () => {
    const { call } = await setUp();
    const yaml = await call('POST', '/v1/workflows', {
      raw: ONBOARDING_YAML,
      headers: { 'content-type': 'text/yaml' },
    });
    expect(yaml.status).toBe(201);
    expect(yaml.body).toMatchObject({ id: 'onboarding', version: 1 });
    const json = await call('POST', '/v1/workflows', { body: jsonWorkflow });
    expect(json.status).toBe(201);
    expect(json.body).toMatchObject({ id: 'hello', version: 1 });
  });

  it('refuses a duplicate id with 409', async () => {
    const { call } = await setUp();
    await call('POST', '/v1/workflows', { body: jsonWorkflow });
    const again = await call('POST', '/v1/workflows', { body: jsonWorkflow });
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toBe('application/problem+json');
    expect(again.body).toMatchObject({ status: 409, title: 'Conflict' });
  });

  it('answers 422 with the paths of the problems', async () => {
    const { call } = await setUp();
    const bad = {
      ...jsonWorkflow,
      steps: [{ id: 'say', type: 'transform', config: { output: 'x' }, next: 'nowhere' }],
    };
    const answer = await call('POST', '/v1/workflows', { body: bad });
    expect(answer.status).toBe(422);
    expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain('steps[0].next');
  });

  it('reports YAML problems with lines', async () => {
    const { call } = await setUp();
    const answer = await call('POST', '/v1/workflows', {
      raw: ONBOARDING_YAML.replace('next: review', 'next: nowhere'),
      headers: { 'content-type': 'application/yaml' },
    });
    expect(answer.status).toBe(422);
    const error = answer.body.errors.find((e: { path: string }) => e.path === 'steps[0].next');
    expect(error.line).toBeGreaterThan(1);
  });

  it('validates without saving', async () => {
    const { call } = await setUp();
    const ok = await call('POST', '/v1/workflows/validate', { body: jsonWorkflow });
    expect(ok).toMatchObject({ status: 200, body: { valid: true, errors: [] } });
    const bad = await call('POST', '/v1/workflows/validate', { body: { ...jsonWorkflow, steps: [] } });
    expect(bad.status).toBe(200);
    expect(bad.body.valid).toBe(false);
    expect((await call('GET', '/v1/workflows/hello')).status).toBe(404);
  });

  it('validates a new version against its path id', async () => {
    const { call } = await setUp();
    await call('POST', '/v1/workflows', { body: jsonWorkflow });
    const other = await call('POST', '/v1/workflows/hello/validate', {
      body: { ...jsonWorkflow, id: 'other' },
    });
    expect(other.body).toMatchObject({ valid: false, errors: [{ path: 'id' }] });
  });

  it('lists, reads versions, adds versions and retires', async () => {
    const { call } = await setUp();
    await call('POST', '/v1/workflows', { body: jsonWorkflow });
    const put = await call('PUT', '/v1/workflows/hello', { body: { ...jsonWorkflow, name: 'v2' } });
    expect(put).toMatchObject({ status: 200, body: { id: 'hello', version: 2 } });
    const mismatch = await call('PUT', '/v1/workflows/hello', { body: { ...jsonWorkflow, id: 'other' } });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.errors[0].path).toBe('id');
    expect((await call('GET', '/v1/workflows/hello')).body.version).toBe(2);
    expect((await call('GET', '/v1/workflows/hello', { query: { version: '1' } })).body.version).toBe(1);
    expect((await call('GET', '/v1/workflows/hello', { query: { version: '7' } })).status).toBe(404);
    const list = await call('GET', '/v1/workflows');
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body).toHaveProperty('next_cursor');
    expect((await call('DELETE', '/v1/workflows/hello')).status).toBe(204);
    const start = await call('POST', '/v1/executions', { body: { workflow_id: 'hello' } });
    expect(start.status).toBe(409);
  });

  it('pages the list with cursors', async () => {
    const { call } = await setUp();
    for (const id of ['a1', 'a2', 'a3'])
      await call('POST', '/v1/workflows', { body: { ...jsonWorkflow, id } });
    const first = await call('GET', '/v1/workflows', { query: { limit: '2' } });
    expect(first.body.items).toHaveLength(2);
    const second = await call('GET', '/v1/workflows', {
      query: { limit: '2', cursor: first.body.next_cursor },
    });
    expect(second.body.items).toHaveLength(1);
    expect((await call('GET', '/v1/workflows', { query: { cursor: 'garbage' } })).status).toBe(422);
  });
});
