import { describe, expect, it } from 'vitest';
import { createMockAiProvider } from '../../../shared/ai/mock-provider.js';
import { setUp } from './support.js';

const schema = {
  type: 'object',
  required: ['subject'],
  properties: { subject: { type: 'string' } },
};

describe('api /v1/ai/infer', () => {
  it('answers with JSON that fits the schema', async () => {
    const t = await setUp();
    const answer = await t.call('POST', '/v1/ai/infer', {
      body: { prompt: 'Write a subject', json_schema: schema },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.output).toEqual({ subject: expect.any(String) });
    expect(answer.body.provider).toBe('mock');
  });

  it('refuses a prompt-less request and a schema that does not compile', async () => {
    const t = await setUp();
    expect((await t.call('POST', '/v1/ai/infer', { body: {} })).status).toBe(422);
    const bad = await t.call('POST', '/v1/ai/infer', {
      body: { prompt: 'x', json_schema: { type: 'nonsense' } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe('json_schema');
  });

  it('answers 503 when the model is unavailable', async () => {
    const t = await setUp();
    t.deps.ai = createMockAiProvider({ mode: 'transient_error' });
    const answer = await t.call('POST', '/v1/ai/infer', { body: { prompt: 'x', json_schema: schema } });
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('1');
  });
});
