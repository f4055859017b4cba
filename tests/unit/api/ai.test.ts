import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockAiProvider } from '../../../shared/ai/mock-provider.js';
import { aiSettings, composeOrchestrator } from '../../../shared/orchestration/compose.js';
import { type FakeOpenAi, startFakeOpenAi } from '../../support/fake-openai.js';
import { setUp } from './support.js';

let fake: FakeOpenAi;
beforeAll(async () => {
  fake = await startFakeOpenAi();
});
afterAll(async () => {
  await fake.close();
});

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
    expect(answer.body).toMatchObject({ provider: 'mock', cost_usd: 0, tokens_prompt: expect.any(Number) });
  });

  it('asks the configured provider (AI_PROVIDER=openai) and answers its usage and cost', async () => {
    const t = await setUp();
    const env = { AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl };
    // What the API's host composes from its environment.
    t.deps.ai = composeOrchestrator({ stores: t.stores } as never, {
      allowPrivateNetwork: false,
      allowLoopback: true,
      ai: aiSettings(env),
    }).ai;
    fake.script({ kind: 'json', value: { subject: 'Welcome' } });
    const answer = await t.call('POST', '/v1/ai/infer', {
      body: { prompt: 'Write a subject', json_schema: schema, model: 'gpt-4o-mini' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      output: { subject: 'Welcome' },
      provider: 'openai',
      model: 'gpt-4o-mini-2025-01-01',
      tokens_prompt: 42,
      tokens_output: 7,
      latency_ms: expect.any(Number),
      // 42 × $0.15 + 7 × $0.60 per million tokens.
      cost_usd: 0.0000105,
      price_version: expect.any(String),
    });
    expect(fake.requests.at(-1)!.body.messages).toEqual([{ role: 'user', content: 'Write a subject' }]);
    fake.script({ kind: 'json', value: { subject: 'x' } });
    const unpriced = await t.call('POST', '/v1/ai/infer', { body: { prompt: 'p', model: 'llama3.2' } });
    expect(unpriced.body.cost_usd).toBeNull();
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
