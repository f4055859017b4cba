/** `/v1/templates` (CONTRACT §7): create, version, read and list prompt templates; bad input is 4xx with paths. */
import { describe, expect, it } from 'vitest';
import { setUp } from './support.js';

const welcome = { id: 'welcome', text: 'Hello {{ name }}', system: 'Be brief', description: 'Greets' };

describe('api /v1/templates', () => {
  it('creates version 1 (201 with location), reads it, and refuses the id again (409)', async () => {
    const t = await setUp();
    const created = await t.call('POST', '/v1/templates', { body: welcome });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/v1/templates/welcome');
    expect(created.body).toEqual({ ...welcome, version: 1, created_at: '2026-01-01T00:00:00.000Z' });
    expect((await t.call('GET', '/v1/templates/welcome')).body).toEqual(created.body);
    const again = await t.call('POST', '/v1/templates', { body: welcome });
    expect(again.status).toBe(409);
    expect(again.headers['content-type']).toMatch(/problem\+json/);
  });

  it('adds a version per PUT, none for the same content, and reads any version', async () => {
    const t = await setUp();
    await t.call('POST', '/v1/templates', { body: welcome });
    t.clock.advance(1000);
    const v2 = await t.call('PUT', '/v1/templates/welcome', {
      body: { text: 'Hi {{ name }}', model: 'gpt-4o' },
    });
    expect(v2.status).toBe(200);
    expect(v2.body).toMatchObject({ id: 'welcome', version: 2, text: 'Hi {{ name }}', model: 'gpt-4o' });
    expect(v2.body).not.toHaveProperty('system');
    const same = await t.call('PUT', '/v1/templates/welcome', {
      body: { id: 'welcome', text: 'Hi {{ name }}', model: 'gpt-4o' },
    });
    expect(same.body.version).toBe(2);
    expect((await t.call('GET', '/v1/templates/welcome', { query: { version: '1' } })).body.text).toBe(
      'Hello {{ name }}',
    );
    const list = await t.call('GET', '/v1/templates');
    expect(list.body).toEqual({
      items: [
        { id: 'welcome', latest_version: 2, created_at: expect.any(String), updated_at: expect.any(String) },
      ],
      next_cursor: null,
    });
  });

  it('answers 404 for an unknown template, version or malformed id, and on PUT of an unknown one', async () => {
    const t = await setUp();
    await t.call('POST', '/v1/templates', { body: welcome });
    expect((await t.call('GET', '/v1/templates/nope')).status).toBe(404);
    expect((await t.call('GET', '/v1/templates/welcome', { query: { version: '7' } })).status).toBe(404);
    expect((await t.call('GET', `/v1/templates/${'x'.repeat(500)}`)).status).toBe(404);
    expect((await t.call('PUT', '/v1/templates/nope', { body: { text: 'x' } })).status).toBe(404);
  });

  it('refuses invalid content with 422 and the path: a bad id, a placeholder that does not parse, unknown fields, a mismatched id', async () => {
    const t = await setUp();
    const cases: Array<[unknown, string]> = [
      [{ id: 'Bad Id', text: 'x' }, 'id'],
      [{ id: 'ok', text: '' }, 'text'],
      [{ id: 'ok', text: 'Hello {{ name + }}' }, 'text'],
      [{ id: 'ok', text: 'x', system: 'Dear {{ }}' }, 'system'],
      [{ id: 'ok', text: 'x', colour: 'red' }, '(root)'],
      [{ id: 'ok', text: 'x'.repeat(100_001) }, 'text'],
    ];
    for (const [body, path] of cases) {
      const answer = await t.call('POST', '/v1/templates', { body });
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(answer.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    await t.call('POST', '/v1/templates', { body: welcome });
    const mismatch = await t.call('PUT', '/v1/templates/welcome', { body: { id: 'other', text: 'x' } });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.errors[0].path).toBe('id');
    expect((await t.call('GET', '/v1/templates', { query: { colour: 'red' } })).status).toBe(422);
    expect((await t.call('GET', '/v1/templates')).body.items).toHaveLength(1);
  });

  it('gives 20 concurrent PUTs of different texts 20 distinct versions', async () => {
    const t = await setUp();
    await t.call('POST', '/v1/templates', { body: welcome });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.call('PUT', '/v1/templates/welcome', { body: { text: `t${i}` } }),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.body.version)).size).toBe(20);
    expect((await t.call('GET', '/v1/templates/welcome')).body.version).toBe(21);
  });

  it('makes a workflow that names an unknown template or version invalid, on validate, create and PUT', async () => {
    const t = await setUp();
    const workflow = (config: Record<string, unknown>) => ({
      schema_version: '1.0',
      id: 'mailer',
      steps: [
        {
          id: 'draft',
          type: 'ai_generate',
          config: { json_schema: { type: 'object' }, variables: { name: 'Ann' }, ...config },
        },
      ],
    });
    const validate = await t.call('POST', '/v1/workflows/validate', {
      body: workflow({ template_id: 'welcome' }),
    });
    expect(validate.body).toEqual({
      valid: false,
      errors: [
        {
          path: 'steps[0].config.template_id',
          message: expect.stringMatching(/unknown prompt template 'welcome'/),
        },
      ],
    });
    expect(
      (await t.call('POST', '/v1/workflows', { body: workflow({ template_id: 'welcome' }) })).status,
    ).toBe(422);
    await t.call('POST', '/v1/templates', { body: welcome });
    const tooNew = await t.call('POST', '/v1/workflows', {
      body: workflow({ template_id: 'welcome', template_version: 2 }),
    });
    expect(tooNew.status).toBe(422);
    expect(tooNew.body.errors).toEqual([
      {
        path: 'steps[0].config.template_version',
        message: "prompt template 'welcome' has no version 2; its latest is 1",
      },
    ]);
    expect(
      (await t.call('POST', '/v1/workflows', { body: workflow({ template_id: 'welcome' }) })).status,
    ).toBe(201);
    // An id made by a placeholder is known only at run time: not checked.
    const dynamic = await t.call('PUT', '/v1/workflows/mailer', {
      body: workflow({ template_id: '{{ inputs.t }}' }),
    });
    expect(dynamic.status).toBe(200);
    const unknown = await t.call('PUT', '/v1/workflows/mailer', { body: workflow({ template_id: 'gone' }) });
    expect(unknown.status).toBe(422);
  });
});
