import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMockAiProvider, MOCK_MODEL, mockAiOptionsFromEnv } from '../../../shared/ai/mock-provider.js';
import { validatorFor } from '../../../shared/json-schema/index.js';
import type { AiRequest } from '../../../shared/ports/index.js';
import { simpleSchema } from './arbitraries.js';

const mail = {
  type: 'object',
  required: ['subject', 'body'],
  properties: { subject: { type: 'string', minLength: 3 }, body: { type: 'string' } },
};

function request(
  prompt: string,
  json_schema: Record<string, unknown> = mail,
  extra: Partial<AiRequest> = {},
): AiRequest {
  return { messages: [{ role: 'user', content: prompt }], json_schema, timeoutMs: 1000, ...extra };
}

const parse = (text: string) => JSON.parse(text) as unknown;

describe('mock provider: success', () => {
  it('answers JSON valid against the request schema, with estimated token counts', async () => {
    const ai = createMockAiProvider({ mode: 'success', seed: 3 });
    const response = await ai.generate(request('Write a welcome mail'));
    expect(ai.name).toBe('mock');
    expect(validatorFor(mail)(parse(response.text))).toBe(true);
    expect(response).toMatchObject({
      model: MOCK_MODEL,
      tokens_prompt: Math.ceil('user: Write a welcome mail'.length / 4),
      tokens_output: Math.ceil(response.text.length / 4),
    });
  });

  it('answers with the model asked for', async () => {
    const response = await createMockAiProvider().generate(request('x', mail, { model: 'gpt-x' }));
    expect(response.model).toBe('gpt-x');
  });

  it('always answers valid JSON for random simple schemas, the same for the same seed and prompt', async () => {
    await fc.assert(
      fc.asyncProperty(simpleSchema, fc.integer(), fc.string(), async (schema, seed, prompt) => {
        const first = await createMockAiProvider({ seed }).generate(request(prompt, schema));
        const again = await createMockAiProvider({ seed }).generate(request(prompt, schema));
        expect(validatorFor(schema)(parse(first.text)), first.text).toBe(true);
        expect(again.text).toBe(first.text);
      }),
      { numRuns: 200 },
    );
  });

  it('answers differently for another seed or prompt', async () => {
    const schema = { type: 'integer', minimum: 0, maximum: 1_000_000_000 };
    const texts = new Set(
      await Promise.all([
        createMockAiProvider({ seed: 1 }).generate(request('a', schema)),
        createMockAiProvider({ seed: 2 }).generate(request('a', schema)),
        createMockAiProvider({ seed: 1 }).generate(request('b', schema)),
      ]).then((responses) => responses.map((r) => r.text)),
    );
    expect(texts.size).toBe(3);
  });
});

describe('mock provider: a schema that asks for a huge answer', () => {
  it('refuses with a non-retryable AiResponseTooLarge instead of making it', async () => {
    // 3.4 GB and a heap overflow of the server before.
    const schema = { type: 'array', minItems: 100_000, items: { type: 'string', minLength: 100_000 } };
    await expect(createMockAiProvider().generate(request('x', schema))).rejects.toMatchObject({
      code: 'AiResponseTooLarge',
      retryable: false,
      message: expect.stringMatching(/larger than the mock model makes/),
    });
  });
});

describe('mock provider: schema_violation', () => {
  const ai = createMockAiProvider({ mode: 'schema_violation' });

  it('drops a required key', async () => {
    const answer = parse((await ai.generate(request('x'))).text);
    expect(answer).not.toHaveProperty('subject');
    expect(validatorFor(mail)(answer)).toBe(false);
  });

  it.each<Record<string, unknown>>([
    { type: 'string' },
    { type: 'integer' },
    { type: ['number', 'string', 'boolean', 'array', 'object'] },
    { type: 'object', properties: { a: { type: 'string' } } },
  ])('answers the wrong type for %o', async (schema) => {
    const answer = parse((await ai.generate(request('x', schema))).text);
    expect(validatorFor(schema)(answer)).toBe(false);
  });

  it('answers text that is not JSON when any type would do', async () => {
    const { text } = await ai.generate(request('x', {}));
    expect(() => JSON.parse(text)).toThrow();
  });
});

describe('mock provider: timeout', () => {
  it('fails with a retryable AiTimeout once the request time is up', async () => {
    const ai = createMockAiProvider({ mode: 'timeout' });
    const started = Date.now();
    await expect(ai.generate(request('x', mail, { timeoutMs: 20 }))).rejects.toMatchObject({
      code: 'AiTimeout',
      retryable: true,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('fails as soon as the request is aborted', async () => {
    const controller = new AbortController();
    const pending = createMockAiProvider({ mode: 'timeout' }).generate(
      request('x', mail, { timeoutMs: 60_000, signal: controller.signal }),
    );
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'AiTimeout' });
  });
});

describe('mock provider: transient_error', () => {
  it('fails the first call for a prompt with a retryable AiUnavailable, then answers', async () => {
    const ai = createMockAiProvider({ mode: 'transient_error' });
    await expect(ai.generate(request('a'))).rejects.toMatchObject({ code: 'AiUnavailable', retryable: true });
    expect(validatorFor(mail)(parse((await ai.generate(request('a'))).text))).toBe(true);
    await expect(ai.generate(request('b'))).rejects.toMatchObject({ code: 'AiUnavailable' });
  });
});

describe('mockAiOptionsFromEnv', () => {
  it('defaults to success with seed 0', () => {
    expect(mockAiOptionsFromEnv({})).toEqual({ mode: 'success', seed: 0 });
    expect(mockAiOptionsFromEnv({ MOCK_AI_MODE: '', MOCK_AI_SEED: '' })).toEqual({
      mode: 'success',
      seed: 0,
    });
  });

  it('reads the mode and the seed', () => {
    expect(mockAiOptionsFromEnv({ MOCK_AI_MODE: 'transient_error', MOCK_AI_SEED: '-42' })).toEqual({
      mode: 'transient_error',
      seed: -42,
    });
  });

  it.each([
    [{ MOCK_AI_MODE: 'flaky' }, 'MOCK_AI_MODE'],
    [{ MOCK_AI_SEED: 'abc' }, 'MOCK_AI_SEED'],
    [{ MOCK_AI_SEED: '1.5' }, 'MOCK_AI_SEED'],
  ])('refuses %o naming %s', (env, variable) => {
    expect(() => mockAiOptionsFromEnv(env)).toThrow(
      expect.objectContaining({ code: 'ConfigurationError', message: expect.stringContaining(variable) }),
    );
  });
});
