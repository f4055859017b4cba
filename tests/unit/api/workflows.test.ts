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

  it('retires a workflow, shows it retired, and revives it with a PUT that adds a version', async () => {
    const { call } = await setUp();
    await call('POST', '/v1/workflows', { body: jsonWorkflow });
    expect((await call('GET', '/v1/workflows/hello')).body.retired).toBe(false);
    expect((await call('DELETE', '/v1/workflows/hello')).status).toBe(204);
    expect((await call('GET', '/v1/workflows/hello')).body).toMatchObject({ version: 1, retired: true });
    expect((await call('POST', '/v1/executions', { body: { workflow_id: 'hello' } })).status).toBe(409);
    // The same content as the latest version: on a retired workflow it still adds one, which revives it.
    const revived = await call('PUT', '/v1/workflows/hello', { body: jsonWorkflow });
    expect(revived).toMatchObject({ status: 200, body: { version: 2, retired: false } });
    expect((await call('GET', '/v1/workflows/hello')).body).toMatchObject({ version: 2, retired: false });
    expect((await call('POST', '/v1/executions', { body: { workflow_id: 'hello' } })).status).toBe(202);
    expect((await call('GET', '/v1/workflows')).body.items[0].retired).toBeUndefined();
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

  it('lists versions newest first with created_at and a content hash; an identical PUT adds none', async () => {
    const { call } = await setUp();
    await call('POST', '/v1/workflows', { body: jsonWorkflow });
    // The same content, in another key order and as YAML: still the same workflow.
    const same = await call('PUT', '/v1/workflows/hello', {
      raw: 'steps:\n  - { config: { output: hi }, type: transform, id: say }\nid: hello\nschema_version: "1.0"\n',
      headers: { 'content-type': 'text/yaml' },
    });
    expect(same).toMatchObject({ status: 200, body: { id: 'hello', version: 1 } });
    const v2 = await call('PUT', '/v1/workflows/hello', { body: { ...jsonWorkflow, name: 'v2' } });
    expect(v2.body.version).toBe(2);
    const again = await call('PUT', '/v1/workflows/hello', { body: { ...jsonWorkflow, name: 'v2' } });
    expect(again).toMatchObject({ status: 200, body: { version: 2, created_at: v2.body.created_at } });

    const versions = await call('GET', '/v1/workflows/hello/versions');
    expect(versions.status).toBe(200);
    expect(versions.body.next_cursor).toBeNull();
    expect(versions.body.items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    for (const item of versions.body.items) {
      expect(Object.keys(item).sort()).toEqual(['content_hash', 'created_at', 'version']);
      expect(item.content_hash).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(versions.body.items[0].content_hash).not.toBe(versions.body.items[1].content_hash);

    const page = await call('GET', '/v1/workflows/hello/versions', { query: { limit: '1' } });
    expect(page.body.items.map((v: { version: number }) => v.version)).toEqual([2]);
    const rest = await call('GET', '/v1/workflows/hello/versions', {
      query: { limit: '1', cursor: page.body.next_cursor },
    });
    expect(rest.body).toEqual({ items: [versions.body.items[1]], next_cursor: null });
    expect((await call('GET', '/v1/workflows/nope/versions')).status).toBe(404);
    expect((await call('GET', '/v1/workflows/hello/versions', { query: { limit: '0' } })).status).toBe(422);
  });

  it('answers 422 for an unknown query parameter', async () => {
    const { call } = await setUp();
    await call('POST', '/v1/workflows', { body: jsonWorkflow });
    for (const path of ['/v1/workflows', '/v1/workflows/hello', '/v1/workflows/hello/versions']) {
      const answer = await call('GET', path, { query: { colour: 'red' } });
      expect(answer.status, path).toBe(422);
      expect(answer.body.errors[0].message).toMatch(/colour/);
    }
  });
});

// The run list's filters of CONTRACT §9 (GET /v1/executions), kept beside the versions they shipped with.
describe('api GET /v1/executions: created_after, created_before, unknown parameters', () => {
  it('filters runs by creation time, paging exactly', async () => {
    const t = await setUp();
    await t.call('POST', '/v1/workflows', { body: jsonWorkflow });
    const ids: string[] = [];
    for (let minute = 0; minute < 6; minute++) {
      t.clock.set(`2026-01-01T00:0${minute}:00.000Z`);
      const run = await t.call('POST', '/v1/executions', { body: { workflow_id: 'hello' } });
      ids.push(run.body.id);
    }
    const list = async (query: Record<string, string>) => {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await t.call('GET', '/v1/executions', { query: cursor ? { ...query, cursor } : query });
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(Number(query.limit ?? 25));
        seen.push(...page.body.items.map((r: { id: string }) => r.id));
        cursor = page.body.next_cursor ?? undefined;
      } while (cursor);
      return seen;
    };
    // Newest first; both bounds are exclusive.
    expect(await list({ created_after: '2026-01-01T00:01:00Z' })).toEqual(ids.slice(2).reverse());
    expect(await list({ created_before: '2026-01-01T00:04:00.000Z', limit: '2' })).toEqual(
      ids.slice(0, 4).reverse(),
    );
    expect(
      await list({
        created_after: '2026-01-01T00:00:30+00:00',
        created_before: '2026-01-01T01:03:30+01:00',
        limit: '1',
      }),
    ).toEqual([ids[3], ids[2], ids[1]]);
    expect(await list({ created_after: '2027-01-01T00:00:00Z' })).toEqual([]);
  });

  it('reads a bound given below the millisecond exactly: a run at .604 is before .6045, not after it', async () => {
    const t = await setUp();
    await t.call('POST', '/v1/workflows', { body: jsonWorkflow });
    t.clock.set('2026-12-05T10:00:55.604Z');
    const run = await t.call('POST', '/v1/executions', { body: { workflow_id: 'hello' } });
    const ids = async (query: Record<string, string>) =>
      (await t.call('GET', '/v1/executions', { query })).body.items.map((r: { id: string }) => r.id);
    expect(await ids({ created_before: '2026-12-05T10:00:55.6045Z' })).toEqual([run.body.id]);
    expect(await ids({ created_after: '2026-12-05T10:00:55.6045Z' })).toEqual([]);
    expect(await ids({ created_after: '2026-12-05T10:00:55.6035Z' })).toEqual([run.body.id]);
  });

  it('answers 422 for a time that is not ISO-8601 and for an unknown query parameter', async () => {
    const t = await setUp();
    const queries: Array<Record<string, string>> = [
      { created_after: 'yesterday' },
      { created_before: '2026-01-01' },
      { since: '1h' },
    ];
    for (const query of queries) {
      const answer = await t.call('GET', '/v1/executions', { query });
      expect(answer.status, JSON.stringify(query)).toBe(422);
    }
    expect((await t.call('GET', '/v1/executions', { query: { limit: '5' } })).status).toBe(200);
  });
});
