/** The OpenAI provider through the real `openai` client against a loopback OpenAI-compatible server. */
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';
import { createOpenAiProvider, retryAfterSeconds } from '../../../shared/ai/openai-provider.js';
import { DEFAULT_AI_POLICY, withAiPolicy } from '../../../shared/ai/policy.js';
import { aiGenerate } from '../../../shared/steps/ai-generate.js';
import { startFakeOpenAi } from '../../support/fake-openai.js';
import { execute } from '../steps/context.js';
import { failure, loopbackFake, mail, request } from './provider-fixtures.js';

const fake = loopbackFake(startFakeOpenAi);

const provider = (model = 'gpt-test') =>
  createOpenAiProvider({ apiKey: 'sk-test', baseUrl: fake().baseUrl, model });

/** The ai_generate step asking for the mail, with one retry for an answer that does not fit. */
const mailWithOneRetry = () =>
  execute(
    aiGenerate,
    { prompt: 'Welcome Ann', json_schema: mail, max_retries: 1 },
    { deps: { ai: provider() } },
  );

describe('openai provider: answers', () => {
  it('sends Chat Completions with a strict json_schema response_format and returns the answer and usage', async () => {
    fake().script({ kind: 'json', value: { subject: 'Welcome', body: 'Hello Ann', cc: null } });
    const response = await provider().generate(request({ temperature: 0.3 }));
    expect(JSON.parse(response.text)).toEqual({ subject: 'Welcome', body: 'Hello Ann' });
    expect(response).toMatchObject({
      model: 'gpt-test-2025-01-01',
      tokens_prompt: 42,
      tokens_output: 7,
      request_id: 'req_fake_1',
    });
    expect(fake().requests).toHaveLength(1);
    const sent = fake().requests[0]!.body;
    expect(sent.model).toBe('gpt-test');
    expect(sent.temperature).toBe(0.3);
    expect(sent.messages).toEqual([
      { role: 'system', content: 'You write mails.' },
      { role: 'user', content: 'Welcome Ann' },
    ]);
    expect(sent.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'answer',
        strict: true,
        schema: {
          type: 'object',
          required: ['subject', 'body', 'cc'],
          additionalProperties: false,
          properties: {
            subject: { type: 'string' },
            body: { type: 'string' },
            cc: { anyOf: [{ type: 'string' }, { type: 'null' }] },
          },
        },
      },
    });
  });

  it("uses the step's model over the default", async () => {
    fake().script({ kind: 'json', value: { subject: 'Hey', body: 'b', cc: 'x@y.z' } });
    await provider().generate(request({ model: 'gpt-other' }));
    expect(fake().requests[0]!.body.model).toBe('gpt-other');
  });

  it('wraps a non-object root in {value} and unwraps the answer', async () => {
    fake().script({ kind: 'json', value: { value: ['a', 'b'] } });
    const response = await provider().generate(
      request({ json_schema: { type: 'array', items: { type: 'string' } } }),
    );
    expect(JSON.parse(response.text)).toEqual(['a', 'b']);
    expect(response.raw_text).toBe('{"value":["a","b"]}');
    expect(fake().requests[0]!.body.response_format?.json_schema?.schema).toMatchObject({
      type: 'object',
      required: ['value'],
    });
  });

  it('sends a schema strict mode cannot express with strict: false, unchanged', async () => {
    const schema = {
      type: 'object',
      properties: { a: { type: 'string' } },
      allOf: [{ required: ['a'] }],
    };
    fake().script({ kind: 'json', value: { a: 'x' } });
    const response = await provider().generate(request({ json_schema: schema }));
    expect(response.text).toBe('{"a":"x"}');
    expect(fake().requests[0]!.body.response_format?.json_schema).toMatchObject({ strict: false, schema });
  });

  it('returns invalid JSON and schema violations as text: the step validates and gives feedback', async () => {
    fake().script({ kind: 'content', content: 'Sure! Here it is' });
    expect((await provider().generate(request())).text).toBe('Sure! Here it is');
  });
});

describe('openai provider: failures are typed StepErrors, each after one request', () => {
  it('429 with retry-after → retryable AiThrottled with retry_after_s', async () => {
    fake().script({ kind: 'status', status: 429, headers: { 'retry-after': '7' } });
    const error = await failure(provider().generate(request()));
    expect(error).toMatchObject({ code: 'AiThrottled', retryable: true });
    expect(error.details).toMatchObject({ status: 429, retry_after_s: 7, request_id: 'req_fake_1' });
    expect(fake().requests).toHaveLength(1);
  });

  it('429 insufficient_quota → AiQuotaExceeded, not retryable', async () => {
    fake().script({ kind: 'status', status: 429, code: 'insufficient_quota' });
    const error = await failure(provider().generate(request()));
    expect(error).toMatchObject({ code: 'AiQuotaExceeded', retryable: false });
  });

  it('500 and 503 → retryable AiUnavailable', async () => {
    for (const status of [500, 503]) {
      fake().requests.length = 0;
      fake().script({ kind: 'status', status });
      const error = await failure(provider().generate(request()));
      expect(error).toMatchObject({ code: 'AiUnavailable', retryable: true, details: { status } });
      expect(fake().requests).toHaveLength(1);
    }
  });

  it('an answer larger than the bound → AiResponseTooLarge, not retryable, declared or streamed', async () => {
    const small = createOpenAiProvider({
      apiKey: 'sk-test',
      baseUrl: fake().baseUrl,
      model: 'gpt-test',
      maxResponseBytes: 100_000,
    });
    // Declared: a content-length over the bound is refused before the body is read.
    fake().script({ kind: 'content', content: 'x'.repeat(200_000) });
    expect(await failure(small.generate(request()))).toMatchObject({
      code: 'AiResponseTooLarge',
      retryable: false,
      details: { max_response_bytes: 100_000 },
    });
    // Streamed without a length: cut off where it passes the bound, however much more was coming.
    fake().script({ kind: 'flood', bytes: 50_000_000 });
    const started = Date.now();
    expect(await failure(small.generate(request()))).toMatchObject({ code: 'AiResponseTooLarge' });
    expect(Date.now() - started).toBeLessThan(5_000);
    // An error status over the bound is still the error it says it is.
    fake().script({ kind: 'status', status: 429, message: 'x'.repeat(200_000) });
    expect(await failure(small.generate(request()))).toMatchObject({ code: 'AiThrottled' });
    // Within the bound, an answer is read as before.
    fake().script({ kind: 'json', value: { subject: 's', body: 'x'.repeat(90_000), cc: null } });
    expect(JSON.parse((await small.generate(request())).text).body).toHaveLength(90_000);
  });

  it('a hang → retryable AiTimeout once the call budget is spent', async () => {
    fake().script({ kind: 'hang' });
    const started = Date.now();
    const error = await failure(provider().generate(request({ timeoutMs: 300 })));
    expect(error).toMatchObject({ code: 'AiTimeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(fake().requests).toHaveLength(1);
  });

  it("an abort of the step's signal → AiTimeout", async () => {
    fake().script({ kind: 'hang' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failure(provider().generate(request({ signal: controller.signal })));
    expect(error).toMatchObject({ code: 'AiTimeout', retryable: true });
  });

  it('a refusal → AiRefused, not retryable, without the refusal text', async () => {
    fake().script({ kind: 'refusal', refusal: "I can't help with that about Ann" });
    const error = await failure(provider().generate(request()));
    expect(error).toMatchObject({ code: 'AiRefused', retryable: false });
    expect(JSON.stringify({ m: error.message, d: error.details })).not.toContain('Ann');
  });

  it('finish_reason length → AiIncomplete, not retryable', async () => {
    fake().script({ kind: 'content', content: '{"subject":"We', finish_reason: 'length' });
    const error = await failure(provider().generate(request()));
    expect(error).toMatchObject({ code: 'AiIncomplete', retryable: false });
  });

  it('a wrong key → AiUnauthorized; a bad request → AiRequestRejected', async () => {
    const wrongKey = createOpenAiProvider({ apiKey: 'sk-wrong', baseUrl: fake().baseUrl, model: 'm' });
    expect(await failure(wrongKey.generate(request()))).toMatchObject({
      code: 'AiUnauthorized',
      retryable: false,
    });
    fake().script({ kind: 'status', status: 400, message: 'bad' });
    expect(await failure(provider().generate(request()))).toMatchObject({
      code: 'AiRequestRejected',
      retryable: false,
    });
  });

  it('keeps the words of a rejection out of the error: they quote the prompt back', async () => {
    fake().script({
      kind: 'status',
      status: 400,
      code: 'invalid_prompt',
      message: `Invalid prompt: Welcome Ann ${'x'.repeat(1_000_000)}`,
    });
    const error = await failure(provider().generate(request()));
    expect(error.message).toBe('The model provider rejected the request (400, invalid_prompt)');
    expect(error.details).toMatchObject({ status: 400, code: 'invalid_prompt' });
    expect(JSON.stringify(error.details)).not.toContain('Welcome Ann');
  });

  it('believes no model name or token count that is not one: the policy keeps the model asked for and counts 0', async () => {
    const priced = withAiPolicy(provider('gpt-4o-mini'), DEFAULT_AI_POLICY);
    for (const [model, usage] of [
      ['m'.repeat(2_000_000), { prompt_tokens: 'lots', completion_tokens: -1e9 }],
      [{ not: 'a name' }, { prompt_tokens: 1e20, completion_tokens: Number.NaN }],
      ['two words', null],
    ] as const) {
      fake().script({ kind: 'raw', model, usage });
      const response = await priced.generate(request());
      expect(response).toMatchObject({
        model: 'gpt-4o-mini',
        tokens_prompt: 0,
        tokens_output: 0,
        cost_usd: 0,
      });
    }
    fake().script({
      kind: 'raw',
      model: 'gpt-4o-mini-2024-07-18',
      usage: { prompt_tokens: 10, completion_tokens: 5 },
    });
    expect(await priced.generate(request())).toMatchObject({
      model: 'gpt-4o-mini-2024-07-18',
      tokens_prompt: 10,
      tokens_output: 5,
    });
  });

  it('a body that stalls half-way → AiTimeout once the call budget is spent, not a wait for ever', async () => {
    fake().script({ kind: 'stall' });
    const error = await failure(provider().generate(request({ timeoutMs: 300 })));
    expect(error).toMatchObject({ code: 'AiTimeout', retryable: true });
  });

  it('a server that is not there → retryable AiUnavailable', async () => {
    const gone = await startFakeOpenAi();
    const baseUrl = gone.baseUrl;
    await gone.close();
    const ai = createOpenAiProvider({ apiKey: 'sk-test', baseUrl, model: 'm' });
    expect(await failure(ai.generate(request()))).toMatchObject({ code: 'AiUnavailable', retryable: true });
  });

  it('a spent budget fails at once without a request', async () => {
    const error = await failure(provider().generate(request({ timeoutMs: 0 })));
    expect(error.code).toBe('AiTimeout');
    expect(fake().requests).toHaveLength(0);
  });
});

describe('the fake server behaves like OpenAI on strict schemas', () => {
  it('rejects an open object sent with strict: true with 400 invalid_json_schema', async () => {
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: fake().baseUrl, maxRetries: 0 });
    const error = await client.chat.completions
      .create({
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: mail, strict: true } },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('invalid_json_schema');
  });
});

describe('ai_generate through the openai provider', () => {
  it('feeds invalid JSON and a schema violation back, then completes with the valid answer', async () => {
    fake().script(
      { kind: 'content', content: 'not json' },
      { kind: 'json', value: { subject: 'Hi', body: 'b', cc: null } }, // subject too short
      { kind: 'json', value: { subject: 'Welcome', body: 'Hello', cc: null } },
    );
    const { result, events } = await execute(
      aiGenerate,
      { prompt: 'Welcome Ann', json_schema: mail, max_retries: 2 },
      { deps: { ai: provider() } },
    );
    expect(result).toEqual({
      status: 'completed',
      outcome: 'success',
      output: { subject: 'Welcome', body: 'Hello' },
    });
    expect(fake().requests).toHaveLength(3);
    const second = fake().requests[1]!.body.messages;
    expect(second.at(-2)).toEqual({ role: 'assistant', content: 'not json' });
    expect(second.at(-1)?.content).toMatch(/not valid JSON/);
    const third = fake().requests[2]!.body.messages;
    // The model sees its own words (with the null), the feedback names the original schema's rule.
    expect(third.at(-2)?.content).toBe('{"subject":"Hi","body":"b","cc":null}');
    expect(third.at(-1)?.content).toMatch(/subject/);
    const responses = events.filter((e) => e.type === 'ai.response');
    expect(responses.map((e) => (e.data as { valid: boolean }).valid)).toEqual([false, false, true]);
    expect(responses[2]?.data).toMatchObject({
      provider: 'openai',
      tokens_prompt: 42,
      tokens_output: 7,
      retry_count: 2,
    });
  });

  it('fails with AiSchemaViolation when no answer fits after max_retries + 1 tries', async () => {
    fake().script({ kind: 'json', value: { subject: 'Hi', body: 'b', cc: null } });
    fake().fallback = { kind: 'json', value: { subject: 'Hi', body: 'b', cc: null } };
    try {
      const error = await failure(mailWithOneRetry());
      expect(error).toMatchObject({ code: 'AiSchemaViolation', retryable: false, details: { tries: 2 } });
      expect(fake().requests).toHaveLength(2);
    } finally {
      fake().fallback = { kind: 'json', value: {} };
    }
  });

  it('tells the model an answer nested too deep is wrong, and fails the step with AiSchemaViolation, not a stack overflow', async () => {
    const deep = `{"subject":${'['.repeat(50_000)}${']'.repeat(50_000)},"body":"b","cc":null}`;
    fake().script({ kind: 'content', content: deep }, { kind: 'content', content: deep });
    const error = await failure(mailWithOneRetry());
    expect(error).toMatchObject({ code: 'AiSchemaViolation', retryable: false, details: { tries: 2 } });
    expect(error.message).toContain('the answer is nested more than 1000 levels deep');
    // The second try was told why the first was refused.
    const feedback = fake().requests[1]!.body.messages.at(-1)!.content;
    expect(feedback).toContain('nested more than 1000 levels deep');
  });

  it('lets a 429 end the attempt as retryable AiThrottled', async () => {
    fake().script({ kind: 'status', status: 429, headers: { 'retry-after': '3' } });
    const error = await failure(
      execute(aiGenerate, { prompt: 'x', json_schema: mail }, { deps: { ai: provider() } }),
    );
    expect(error).toMatchObject({ code: 'AiThrottled', retryable: true, details: { retry_after_s: 3 } });
  });
});

describe('retryAfterSeconds', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  it('reads seconds, milliseconds and HTTP dates', () => {
    expect(retryAfterSeconds(new Headers({ 'retry-after': '12' }), now)).toBe(12);
    expect(retryAfterSeconds(new Headers({ 'retry-after-ms': '1500' }), now)).toBe(2);
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'Sun, 01 Mar 2026 12:00:30 GMT' }), now)).toBe(30);
    expect(retryAfterSeconds(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined();
    expect(retryAfterSeconds(new Headers(), now)).toBeUndefined();
  });
});
