/**
 * AI for real over HTTP against `npm start` with `AI_PROVIDER=openai` pointed at a loopback
 * OpenAI-compatible server: the onboarding example completes with the model's draft, the run view
 * shows the usage and cost; prompt templates are created and versioned over the API and a run is
 * pinned to the version in force when it started; `POST /v1/ai/infer` asks the same provider.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { type FakeBedrock, startFakeBedrock } from '../support/fake-bedrock.js';
import { type FakeOpenAi, startFakeOpenAi } from '../support/fake-openai.js';
import { type HttpSink, startHttpSink } from '../support/http-sink.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

// The key the fake accepts (any other is 401, as OpenAI answers).
const KEY = 'sk-test';
let fake: FakeOpenAi;
let sink: HttpSink;
let server: ServerProcess;

beforeAll(async () => {
  fake = await startFakeOpenAi();
  // Every answer is a welcome mail that names the prompt's last line, so a test can see which prompt was sent.
  fake.fallback = (request) => {
    const prompt = request.body.messages.at(-1)!.content;
    return { kind: 'json', value: { subject: 'Welcome', body: `Re: ${prompt}` } };
  };
  sink = await startHttpSink();
  server = await startServerProcess({
    AI_PROVIDER: 'openai',
    OPENAI_API_KEY: KEY,
    OPENAI_BASE_URL: fake.baseUrl,
    OPENAI_MODEL: 'gpt-4o-mini',
    FLOWRUNNER_SECRET_MAIL_TOKEN: 'mail-token-ai-e2e',
  });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await sink?.close();
  await fake?.close();
});

const { call, until } = apiClient(() => server.url);

/** $0.15 and $0.60 per million prompt and output tokens (gpt-4o-mini), for the fake's 42 + 7 tokens a call. */
const COST_PER_CALL = (42 * 0.15 + 7 * 0.6) / 1e6;

describe('AI over HTTP with AI_PROVIDER=openai', () => {
  it('completes the onboarding example with the model, and shows usage and cost in the run view', async () => {
    const yaml = readFileSync('examples/onboarding.yaml', 'utf8')
      .replace('id: onboarding', 'id: onboarding-ai')
      .replace('https://mail.example.com', sink.url);
    expect((await call('POST', '/v1/workflows', yaml)).status).toBe(201);
    const id = (
      await call('POST', '/v1/executions', { workflow_id: 'onboarding-ai', inputs: { customer: 'Ada' } })
    ).body.id as string;
    await until(id, (r) => r.waiting.some((w) => w.step_id === 'collect'));
    await call('POST', `/v1/executions/${id}/resume`, { inputs: { email: 'ada@example.com', plan: 'pro' } });
    await until(id, (r) => r.waiting.some((w) => w.step_id === 'review'));
    await call('POST', `/v1/executions/${id}/resume`, { decision: 'approve', approver: 'lead@example.com' });
    const done = await until(id, (r) => r.status === 'completed');

    // The real client sent Chat Completions with the key, the model and a strict json_schema.
    const [sent] = fake.requests.filter((r) => r.body.messages.some((m) => m.content.includes('Ada')));
    expect(sent!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(sent!.body.model).toBe('gpt-4o-mini');
    expect(sent!.body.response_format).toMatchObject({ type: 'json_schema', json_schema: { strict: true } });
    const mail = JSON.parse(sink.requests.find((r) => r.path === '/v1/send')!.body);
    expect(mail).toMatchObject({ subject: 'Welcome', text: expect.stringContaining('Ada on the pro plan') });

    expect(done.usage).toEqual({ tokens_prompt: 42, tokens_output: 7, cost_usd: COST_PER_CALL, ai_calls: 1 });
    const events = (await call('GET', `/v1/executions/${id}/events?limit=500`)).body.events as Array<{
      type: string;
      data: Record<string, unknown>;
    }>;
    expect(events.find((e) => e.type === 'ai.response')!.data).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o-mini-2025-01-01',
      tokens_prompt: 42,
      tokens_output: 7,
      retry_count: 0,
      cost_usd: COST_PER_CALL,
      template_id: null,
    });
    // The key is nowhere in what the API shows; the prompt is not in the events (no content capture).
    expect(JSON.stringify([done, events])).not.toContain(KEY);
    expect(JSON.stringify(events)).not.toContain('Ada on the pro plan');
  }, 60_000);

  it('creates and versions a template over HTTP; a run keeps the version in force when it started', async () => {
    const created = await call('POST', '/v1/templates', {
      id: 'welcome-ai',
      text: 'v1: greet {{ name }}',
      description: 'Greets',
    });
    expect(created.status).toBe(201);
    const workflow = `schema_version: "1.0"
id: greet-ai
steps:
  - { id: ask, type: form, config: { fields: [{ key: name, type: string, required: true }] }, next: draft }
  - id: draft
    type: ai_generate
    config:
      template_id: welcome-ai
      variables: { name: "{{ steps.ask.output.name }}" }
      json_schema: { type: object, required: [subject, body], properties: { subject: { type: string }, body: { type: string } } }
`;
    expect((await call('POST', '/v1/workflows', workflow)).status).toBe(201);
    const first = (await call('POST', '/v1/executions', { workflow_id: 'greet-ai' })).body.id as string;
    await until(first, (r) => r.waiting.length > 0);
    // Templates are stamped to the millisecond: the update is surely later than the first run's start.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const updated = await call('PUT', '/v1/templates/welcome-ai', { text: 'v2: greet {{ name }}' });
    expect(updated.body.version).toBe(2);
    const second = (await call('POST', '/v1/executions', { workflow_id: 'greet-ai' })).body.id as string;
    await until(second, (r) => r.waiting.length > 0);
    await call('POST', `/v1/executions/${first}/resume`, { inputs: { name: 'Ann' } });
    await call('POST', `/v1/executions/${second}/resume`, { inputs: { name: 'Bob' } });
    const one = await until(first, (r) => r.status === 'completed');
    const two = await until(second, (r) => r.status === 'completed');
    expect(one.output).toMatchObject({ body: 'Re: v1: greet Ann' });
    expect(two.output).toMatchObject({ body: 'Re: v2: greet Bob' });
    const versions = async (id: string) =>
      (
        (await call('GET', `/v1/executions/${id}/events?limit=500`)).body.events as Array<{
          type: string;
          data: { template_version?: number };
        }>
      )
        .filter((e) => e.type === 'ai.response')
        .map((e) => e.data.template_version);
    expect(await versions(first)).toEqual([1]);
    expect(await versions(second)).toEqual([2]);
    expect((await call('GET', '/v1/templates')).body.items).toEqual([
      expect.objectContaining({ id: 'welcome-ai', latest_version: 2 }),
    ]);
    // A workflow naming a template the server does not have is refused with the path.
    const unknown = await call(
      'POST',
      '/v1/workflows/validate',
      workflow.replace('template_id: welcome-ai', 'template_id: nope'),
    );
    expect(unknown.body).toMatchObject({ valid: false, errors: [{ path: 'steps[1].config.template_id' }] });
  }, 60_000);

  it('answers POST /v1/ai/infer from the same provider, with usage and cost', async () => {
    const answer = await call('POST', '/v1/ai/infer', {
      prompt: 'one subject line',
      json_schema: { type: 'object', required: ['subject'], properties: { subject: { type: 'string' } } },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      provider: 'openai',
      output: { subject: 'Welcome' },
      tokens_prompt: 42,
      tokens_output: 7,
      cost_usd: COST_PER_CALL,
    });
  }, 30_000);
});

describe('AI over HTTP with AI_PROVIDER=bedrock', () => {
  let bedrock: FakeBedrock;
  let bedrockServer: ServerProcess;
  const api = apiClient(() => bedrockServer.url);

  beforeAll(async () => {
    bedrock = await startFakeBedrock();
    bedrock.fallback = { kind: 'json', value: { subject: 'Hello from Bedrock' } };
    bedrockServer = await startServerProcess({
      AI_PROVIDER: 'bedrock',
      BEDROCK_MODEL: 'anthropic.native-model-v1:0',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDE2E',
      AWS_SECRET_ACCESS_KEY: 'e2e-secret',
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.endpoint,
      FLOWRUNNER_AI_PRICES: '{"anthropic.native-model-v1:0": {"input_per_1m": 1, "output_per_1m": 5}}',
    });
  }, 60_000);

  afterAll(async () => {
    await bedrockServer?.stop();
    await bedrock?.close();
  });

  it('answers ai_generate and /v1/ai/infer through Converse with the configured model, region and prices', async () => {
    const workflow = `schema_version: "1.0"
id: subject-bedrock
steps:
  - id: draft
    type: ai_generate
    config:
      prompt: "A subject for {{ inputs.customer }}"
      json_schema: { type: object, required: [subject], properties: { subject: { type: string } } }
`;
    expect((await api.call('POST', '/v1/workflows', workflow)).status).toBe(201);
    const id = (
      await api.call('POST', '/v1/executions', {
        workflow_id: 'subject-bedrock',
        inputs: { customer: 'Ada' },
      })
    ).body.id as string;
    const done = await api.until(id, (r) => r.status === 'completed');
    expect(done.output).toEqual({ subject: 'Hello from Bedrock' });
    // 31 × $1 + 12 × $5 per million tokens.
    expect(done.usage).toEqual({ tokens_prompt: 31, tokens_output: 12, cost_usd: 0.000091, ai_calls: 1 });
    const [sent] = bedrock.requests;
    expect(sent!.modelId).toBe('anthropic.native-model-v1:0');
    expect(String(sent!.headers.authorization)).toMatch(/Credential=AKIDE2E\/\d{8}\/eu-west-1\/bedrock\//);
    expect(sent!.body.outputConfig?.textFormat?.type).toBe('json_schema');

    const inferred = await api.call('POST', '/v1/ai/infer', { prompt: 'one subject' });
    expect(inferred.body).toMatchObject({
      provider: 'bedrock',
      model: 'anthropic.native-model-v1:0',
      cost_usd: 0.000091,
    });
  }, 60_000);
});
