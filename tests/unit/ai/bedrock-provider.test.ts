/**
 * The Bedrock provider through the real `@aws-sdk/client-bedrock-runtime` (its HTTP/1.1 handler, static
 * credentials) against a loopback server that speaks Converse's JSON.
 */
import { describe, expect, it } from 'vitest';
import { createBedrockProvider } from '../../../shared/ai/bedrock-provider.js';
import { aiGenerate } from '../../../shared/steps/ai-generate.js';
import { FAKE_USAGE, startFakeBedrock } from '../../support/fake-bedrock.js';
import { execute } from '../steps/context.js';
import { failure, loopbackFake, mail, request } from './provider-fixtures.js';

/** `allOf` cannot be sent strict: it goes as the forced tool's input schema. */
const loose = { type: 'object', allOf: [mail, { required: ['cc'] }] };

const fake = loopbackFake(startFakeBedrock);

const provider = (model = 'anthropic.native-model-v1:0') =>
  createBedrockProvider({
    model,
    region: 'eu-west-1',
    endpoint: fake().endpoint,
    client: { credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } },
  });

describe('bedrock provider: answers', () => {
  it('sends Converse with native structured output for a strict schema, and returns the answer and usage', async () => {
    fake().script({ kind: 'json', value: { subject: 'Welcome', body: 'Hello Ann', cc: null } });
    const response = await provider().generate(request({ temperature: 0.2 }));
    expect(JSON.parse(response.text)).toEqual({ subject: 'Welcome', body: 'Hello Ann' });
    expect(response).toMatchObject({
      model: 'anthropic.native-model-v1:0',
      tokens_prompt: FAKE_USAGE.inputTokens,
      tokens_output: FAKE_USAGE.outputTokens,
      request_id: 'req-1',
      provider_latency_ms: 7,
    });
    const [sent] = fake().requests;
    expect(sent!.modelId).toBe('anthropic.native-model-v1:0');
    // Signed by SigV4 for the configured region.
    expect(String(sent!.headers.authorization)).toMatch(/Credential=AKIDTEST\/\d{8}\/eu-west-1\/bedrock\//);
    expect(sent!.body.system).toEqual([{ text: 'You write mails.' }]);
    expect(sent!.body.messages).toEqual([{ role: 'user', content: [{ text: 'Welcome Ann' }] }]);
    expect(sent!.body.inferenceConfig).toEqual({ temperature: 0.2 });
    expect(sent!.body.toolConfig).toBeUndefined();
    const format = sent!.body.outputConfig!.textFormat!;
    expect(format.type).toBe('json_schema');
    // The strict variant: closed, every property required, the optional one nullable.
    expect(JSON.parse(format.structure.jsonSchema.schema)).toMatchObject({
      additionalProperties: false,
      required: ['subject', 'body', 'cc'],
    });
  });

  it('sends a schema strict mode cannot express as one forced tool, and reads the tool input', async () => {
    fake().script({ kind: 'json', value: { subject: 'Hi', body: 'x', cc: 'a@b.c' } });
    const response = await provider().generate(request({ json_schema: loose }));
    expect(JSON.parse(response.text)).toEqual({ subject: 'Hi', body: 'x', cc: 'a@b.c' });
    const [sent] = fake().requests;
    expect(sent!.body.outputConfig).toBeUndefined();
    expect(sent!.body.toolConfig).toEqual({
      tools: [
        {
          toolSpec: {
            name: 'answer',
            description: expect.any(String),
            inputSchema: { json: loose },
          },
        },
      ],
      toolChoice: { tool: { name: 'answer' } },
    });
  });

  it('falls back to the forced tool when the model refuses native output, and remembers it', async () => {
    const bedrock = provider('amazon.plain-model-v1:0');
    fake().script({ kind: 'json', value: { subject: 'Welcome', body: 'B' } });
    const first = await bedrock.generate(request());
    expect(JSON.parse(first.text)).toEqual({ subject: 'Welcome', body: 'B' });
    expect(fake().requests.map((r) => (r.body.outputConfig ? 'native' : 'tool'))).toEqual(['native', 'tool']);
    fake().requests.length = 0;
    fake().script({ kind: 'json', value: { subject: 'Again', body: 'B' } });
    await bedrock.generate(request());
    expect(fake().requests.map((r) => (r.body.outputConfig ? 'native' : 'tool'))).toEqual(['tool']);
  });

  it("wraps a non-object root in {value} for the tool and unwraps the answer; uses the step's model", async () => {
    fake().script({ kind: 'json', value: { value: ['a', 'b'] } });
    const response = await provider().generate(
      request({ model: 'plain.other-v2', json_schema: { type: 'array', items: { type: 'string' } } }),
    );
    expect(JSON.parse(response.text)).toEqual(['a', 'b']);
    expect(response.model).toBe('plain.other-v2');
    expect(fake().requests.at(-1)!.modelId).toBe('plain.other-v2');
  });

  it('keeps the conversation of feedback retries as alternating turns', async () => {
    fake().script({ kind: 'json', value: { subject: 'ok', body: 'b' } });
    await provider().generate(
      request({
        messages: [
          { role: 'user', content: 'one' },
          { role: 'assistant', content: '{"subject":"x"}' },
          { role: 'user', content: 'fix it' },
        ],
      }),
    );
    expect(fake().requests[0]!.body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(fake().requests[0]!.body.system).toBeUndefined();
  });

  it('returns text that is not JSON as it is: the step validates and gives feedback', async () => {
    fake().script({ kind: 'text', text: 'Sure! Here is the mail.' });
    const response = await provider().generate(request());
    expect(response.text).toBe('Sure! Here is the mail.');
  });
});

describe('bedrock provider: failures are typed StepErrors', () => {
  it.each([
    [429, 'ThrottlingException', 'AiThrottled', true],
    [400, 'ServiceQuotaExceededException', 'AiThrottled', true],
    [429, 'ModelNotReadyException', 'AiThrottled', true],
    [503, 'ServiceUnavailableException', 'AiUnavailable', true],
    [500, 'InternalServerException', 'AiUnavailable', true],
    [424, 'ModelErrorException', 'AiUnavailable', true],
    [408, 'ModelTimeoutException', 'AiTimeout', true],
    [403, 'AccessDeniedException', 'AiUnauthorized', false],
    [404, 'ResourceNotFoundException', 'AiRequestRejected', false],
    [400, 'ValidationException', 'AiRequestRejected', false],
  ])('%i %s → %s (retryable: %s), after one request', async (status, type, code, retryable) => {
    // A tool-path schema: a ValidationException there is the request's fault, not a native refusal.
    fake().script({ kind: 'error', status, type, message: `the ${type}` });
    const error = await failure(provider().generate(request({ json_schema: loose })));
    expect(error).toMatchObject({ code, retryable });
    expect(error.details).toMatchObject({ exception: type, status, request_id: 'req-1' });
    expect(fake().requests).toHaveLength(1);
  });

  it('a hang → retryable AiTimeout once the call budget is spent', async () => {
    fake().script({ kind: 'hang' });
    const error = await failure(provider().generate(request({ timeoutMs: 150 })));
    expect(error).toMatchObject({ code: 'AiTimeout', retryable: true });
  });

  it("an abort of the step's signal → AiTimeout", async () => {
    fake().script({ kind: 'hang' });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const error = await failure(provider().generate(request({ signal: controller.signal })));
    expect(error.code).toBe('AiTimeout');
  });

  it.each([
    ['guardrail_intervened', 'AiRefused'],
    ['content_filtered', 'AiRefused'],
    ['max_tokens', 'AiIncomplete'],
    ['model_context_window_exceeded', 'AiIncomplete'],
  ])('stopReason %s → %s, not retryable, without the text', async (stopReason, code) => {
    fake().script({ kind: 'text', text: 'I cannot help with {"secret":1}', stopReason });
    const error = await failure(provider().generate(request()));
    expect(error).toMatchObject({ code, retryable: false, details: { stop_reason: stopReason } });
    expect(JSON.stringify(error.details)).not.toContain('cannot help');
  });

  it('a server that is not there → retryable AiUnavailable', async () => {
    const gone = createBedrockProvider({
      model: 'm',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9',
      client: { credentials: { accessKeyId: 'a', secretAccessKey: 'b' } },
    });
    const error = await failure(gone.generate(request()));
    expect(error).toMatchObject({ code: 'AiUnavailable', retryable: true });
  });

  it('a spent budget fails at once without a request', async () => {
    const error = await failure(provider().generate(request({ timeoutMs: 0 })));
    expect(error.code).toBe('AiTimeout');
    expect(fake().requests).toHaveLength(0);
  });
});

describe('ai_generate through the bedrock provider', () => {
  it('feeds a schema violation back, then completes; events carry provider, model and usage', async () => {
    fake().script(
      { kind: 'json', value: { subject: 'no', body: 'too short a subject' } },
      { kind: 'json', value: { subject: 'Welcome', body: 'Hello' } },
    );
    const { result, events } = await execute(
      aiGenerate,
      { prompt: 'Welcome Ann', json_schema: mail, max_retries: 1 },
      { deps: { ai: provider() } },
    );
    expect(result).toMatchObject({ status: 'completed', output: { subject: 'Welcome', body: 'Hello' } });
    expect(fake().requests).toHaveLength(2);
    const feedback = fake().requests[1]!.body.messages;
    expect(feedback.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(feedback[2]!.content[0]!.text).toMatch(/subject/);
    const responses = events.filter((e) => e.type === 'ai.response').map((e) => e.data);
    expect(responses).toEqual([
      expect.objectContaining({
        provider: 'bedrock',
        valid: false,
        retry_count: 0,
        tokens_prompt: 31,
        provider_latency_ms: 7,
      }),
      expect.objectContaining({ provider: 'bedrock', valid: true, retry_count: 1, tokens_output: 12 }),
    ]);
  });
});
