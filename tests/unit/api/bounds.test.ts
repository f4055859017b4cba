/**
 * Bad input is a 4xx with a clear detail, never a 500 (CONTRACT §3; issue 9 #6 and #13): depth and
 * numbers are bounded by the body parser, path ids by the router, before anything recurses or
 * reaches a store; validate refuses exactly what create refuses.
 */
import { describe, expect, it } from 'vitest';
import { jsonTextProblem } from '../../../functions/api/middleware/body-parser.js';
import { setUp } from './support.js';

const DEEP = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
const json = { 'content-type': 'application/json' };

describe('api: JSON bodies nested too deep', () => {
  it('answers 400, not 500, for 10,000 levels in inputs, profile, a listener match, an answer or a hook body', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    await t.call('POST', '/v1/listeners', {
      body: { id: 'signup', type: 'webhook', workflow_id: 'onboarding' },
    });
    const cases: Array<[string, string, string]> = [
      ['POST', '/v1/executions', `{"workflow_id":"onboarding","inputs":{"customer":"Ada","deep":${DEEP}}}`],
      [
        'POST',
        '/v1/executions',
        `{"workflow_id":"onboarding","inputs":{"customer":"Ada"},"profile":{"deep":${DEEP}}}`,
      ],
      ['POST', '/v1/listeners', `{"type":"webhook","workflow_id":"onboarding","match":{"deep":${DEEP}}}`],
      ['POST', `/v1/executions/${runId}/resume`, `{"inputs":{"email":"a@b.c","extra":${DEEP}}}`],
      ['POST', '/v1/hooks/signup', `{"customer":"Ada","extra":${DEEP}}`],
      ['POST', '/v1/workflows/validate', `{"schema_version":"1.0","id":"deep","static":${DEEP},"steps":[]}`],
    ];
    for (const [method, path, raw] of cases) {
      const answer = await t.call(method, path, { raw, headers: json });
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(400);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.body.detail).toMatch(/nested more than 100 levels deep \(line 1, column \d+\)/);
    }
    expect(t.errors).toEqual([]);
  });

  it('takes 100 levels, the documented limit, and refuses 101', async () => {
    const t = await setUp();
    await t.startWaiting();
    // The body and `inputs` are two levels.
    const start = (levels: number) =>
      t.call('POST', '/v1/executions', {
        raw: `{"workflow_id":"onboarding","inputs":{"customer":"Ada","deep":${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}}}`,
        headers: json,
      });
    expect((await start(100)).status).toBe(202);
    expect((await start(101)).status).toBe(400);
  });

  it('checks depth with a counter: brackets inside strings do not count, escapes do not end a string', () => {
    expect(jsonTextProblem(`{"a":"${'['.repeat(500)}"}`, 100)).toBeUndefined();
    expect(jsonTextProblem(`["\\"${'{'.repeat(500)}"]`, 100)).toBeUndefined();
    expect(jsonTextProblem(`${'{"a":'.repeat(101)}1${'}'.repeat(101)}`, 100)).toMatch(/nested more than 100/);
    expect(jsonTextProblem(`[1.5e308, -2E-400, 0, 12345678901234567890]`, 100)).toBeUndefined();
  });
});

describe('api: numbers JSON.parse would turn into Infinity', () => {
  it('refuses 1e309 in inputs with 400 instead of storing null', async () => {
    const t = await setUp();
    await t.startWaiting();
    for (const number of ['1e309', '-1e309', `1${'0'.repeat(400)}`]) {
      const answer = await t.call('POST', '/v1/executions', {
        raw: `{"workflow_id":"onboarding","inputs":{"customer":"Ada","amount":${number}}}`,
        headers: json,
      });
      expect(answer.status, number).toBe(400);
      expect(answer.body.detail).toContain('beyond what a JSON number can hold');
      expect(answer.body.detail).toContain('line 1, column');
    }
  });
});

describe('api: path ids are bounded before any store', () => {
  it('answers 404 with the rule for a run id of 10,000 characters, without asking the store', async () => {
    const t = await setUp();
    // DynamoDB refuses a key this long with a ValidationException: had the id reached it, a 500.
    t.stores.runs.get = async () => {
      throw new Error('ValidationException: key too long');
    };
    t.stores.runs.history = t.stores.runs.get as never;
    const long = 'r'.repeat(10_000);
    for (const path of [`/v1/executions/${long}`, `/v1/executions/${long}/history`]) {
      const answer = await t.call('GET', path);
      expect(answer.status).toBe(404);
      expect(answer.body.detail).toContain('(10000 characters): a run id is 1 to 128 letters');
    }
    const slash = await t.call('GET', `/v1/executions/${encodeURIComponent('../etc')}`);
    expect(slash.status).toBe(404);
    expect(t.errors).toEqual([]);
  });

  it('checks each collection by its own rule: workflows, listeners, tokens, artifact names', async () => {
    const t = await setUp();
    const workflow = await t.call('GET', '/v1/workflows/Not_An_Id');
    expect(workflow).toMatchObject({ status: 404 });
    expect(workflow.body.detail).toContain('a workflow id is 1 to 64 lower-case letters');
    expect((await t.call('DELETE', `/v1/listeners/${'l'.repeat(129)}`)).body.detail).toContain(
      'a listener id is 1 to 128',
    );
    expect((await t.call('POST', `/v1/callbacks/${'t'.repeat(300)}`, { body: {} })).body.detail).toContain(
      'a callback token is 1 to 256',
    );
    expect((await t.call('GET', `/v1/executions/run_1/artifacts/${'a'.repeat(300)}`)).body.detail).toContain(
      'an artifact name is 1 to 256',
    );
  });

  it('bounds the ids in query parameters too', async () => {
    const t = await setUp();
    const answer = await t.call('GET', '/v1/executions', { query: { workflow_id: 'w'.repeat(10_000) } });
    expect(answer.status).toBe(422);
    expect(answer.body.errors).toMatchObject([{ path: 'workflow_id' }]);
  });
});

describe('api: one size limit for workflows', () => {
  it('validate refuses a 736 KB workflow that create refuses, with the same error', async () => {
    const t = await setUp();
    const big = {
      schema_version: '1.0',
      id: 'big',
      static: { text: 'x'.repeat(736 * 1024) },
      steps: [{ id: 'only', type: 'transform', config: { output: '{{ static.text }}' } }],
    };
    const validated = await t.call('POST', '/v1/workflows/validate', { body: big });
    const created = await t.call('POST', '/v1/workflows', { body: big });
    expect(created.status).toBe(422);
    expect(validated.status).toBe(200);
    expect(validated.body.valid).toBe(false);
    expect(validated.body.errors).toEqual(created.body.errors);
    expect(validated.body.errors[0].message).toMatch(/bytes as JSON; the limit is/);
  });

  it('reports a YAML workflow that contains itself as invalid, not as a server error', async () => {
    const t = await setUp();
    const yaml =
      "schema_version: '1.0'\nid: cyc\nsteps: &s\n  - id: a\n    type: transform\n    config: { output: *s }\n";
    const headers = { 'content-type': 'text/yaml' };
    const validated = await t.call('POST', '/v1/workflows/validate', { raw: yaml, headers });
    expect(validated.status).toBe(200);
    expect(validated.body.valid).toBe(false);
    expect(JSON.stringify(validated.body.errors)).toContain('circular');
    expect((await t.call('POST', '/v1/workflows', { raw: yaml, headers })).status).toBe(422);
    expect(t.errors).toEqual([]);
  });

  it('refuses a workflow too large to store before checking it (its JSON Schemas are not compiled)', async () => {
    const t = await setUp();
    // 4,000 inputs with anyOf (500 KB): compiling the schema took 4 s, then the store refused it.
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 4000; i++) {
      properties[`p${i}`] = {
        anyOf: [{ type: 'string' }, { type: 'object', properties: { q: { type: 'string' } } }],
      };
    }
    const big = {
      schema_version: '1.0',
      id: 'big-schema',
      inputs: { type: 'object', properties },
      steps: [{ id: 'only', type: 'no_such_type' }],
    };
    for (const answer of [
      await t.call('POST', '/v1/workflows', { body: big }),
      await t.call('POST', '/v1/workflows/validate', { body: big }),
    ]) {
      // Only the size: the unknown step type was never looked at.
      const errors = answer.body.errors as Array<{ path: string; message: string }>;
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({
        path: '(root)',
        message: expect.stringMatching(/bytes as JSON; the limit is/),
      });
    }
  });
});
