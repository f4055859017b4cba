import { describe, expect, it } from 'vitest';
import { ONBOARDING_YAML, setUp } from './support.js';

/** A valid request for each documented operation (`METHOD path`); path parameters are filled in from a prepared world. */
const requests: Record<string, { body?: unknown; raw?: string; headers?: Record<string, string> }> = {
  'POST /v1/workflows': {
    raw: ONBOARDING_YAML.replace('id: onboarding', 'id: documented'),
    headers: { 'content-type': 'text/yaml' },
  },
  'POST /v1/workflows/validate': { raw: ONBOARDING_YAML, headers: { 'content-type': 'text/yaml' } },
  'PUT /v1/workflows/{id}': { raw: ONBOARDING_YAML, headers: { 'content-type': 'text/yaml' } },
  'POST /v1/workflows/{id}/validate': { raw: ONBOARDING_YAML, headers: { 'content-type': 'text/yaml' } },
  'POST /v1/executions': { body: { workflow_id: 'onboarding', inputs: { customer: 'Ada' } } },
  'POST /v1/executions/{id}/resume': { body: { inputs: { email: 'ada@example.com' } } },
  'POST /v1/executions/{id}/cancel': { body: {} },
  'POST /v1/executions/{id}/pause': { body: {} },
  'POST /v1/executions/{id}/unpause': { body: {} },
  'POST /v1/executions/{id}/redrive': { body: {} },
  'POST /v1/executions/{id}/rerun': { body: {} },
  'POST /v1/callbacks/{token}': { body: { inputs: { email: 'ada@example.com' } } },
  'POST /v1/ai/infer': {
    body: {
      prompt: 'Name a colour',
      json_schema: { type: 'object', required: ['colour'], properties: { colour: { type: 'string' } } },
    },
  },
  'POST /v1/listeners': { body: { type: 'webhook', workflow_id: 'onboarding', match: {} } },
  'POST /v1/hooks/{listener_id}': { body: { customer: 'Ada' } },
};

describe('api: every documented operation', () => {
  it('answers a valid request, and an unknown id, with one of its documented statuses', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    await t.stores.artifacts.put(runId, 'report.txt', 'hello', 'text/plain');
    const token = (await t.call('GET', `/v1/executions/${runId}`)).body.waiting[0].callback_token as string;
    const listener = await t.call('POST', '/v1/listeners', requests['POST /v1/listeners']!);
    const values: Record<string, string> = {
      id: runId,
      name: 'report.txt',
      token,
      listener_id: listener.body.id as string,
    };
    const document = (await t.call('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const operations = Object.entries(document.paths)
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
      )
      // Deletions last, so that what they remove is still there for the others.
      .sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));
    const checked: string[] = [];
    for (const { path, method, op } of operations) {
      const key = `${method} ${path}`;
      const documented = Object.keys(op.responses).map(Number);
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) =>
        encodeURIComponent(path.startsWith('/v1/workflows') && name === 'id' ? 'onboarding' : values[name]!),
      );
      const answer = await t.call(method, concrete, requests[key] ?? {});
      expect(documented, `${key} answered ${answer.status}: ${JSON.stringify(answer.body)}`).toContain(
        answer.status,
      );
      if (path.includes('{')) {
        const unknown = await t.call(method, path.replace(/\{(\w+)\}/g, 'nope'), requests[key] ?? {});
        expect(documented, `${key} with an unknown id answered ${unknown.status}`).toContain(unknown.status);
      }
      checked.push(key);
    }
    expect(checked.length).toBe(operations.length);
    expect(t.errors).toEqual([]);
  });
});
