/** Usage and cost on `ai.response` (CONTRACT §4, §7), the price table, prompt capture and the OpenAI key's secret. */
import { describe, expect, it } from 'vitest';
import { MOCK_MODEL } from '../../../shared/ai/mock-provider.js';
import { openAiKeyFromSecret } from '../../../shared/ai/openai-secret.js';
import { DEFAULT_AI_POLICY, withAiPolicy } from '../../../shared/ai/policy.js';
import { BUILTIN_PRICES, costUsd, priceOf, pricesFromEnv } from '../../../shared/ai/prices.js';
import { Harness } from '../../../shared/harness/harness.js';
import { aiSettings, composeOrchestrator } from '../../../shared/orchestration/compose.js';
import type { AiProvider } from '../../../shared/ports/index.js';
import { aiGenerate, CAPTURED_TEXT_LIMIT } from '../../../shared/steps/ai-generate.js';
import { execute } from '../steps/context.js';

const schema = { type: 'object', required: ['c'], properties: { c: { type: 'string' } } };

function scripted(answers: string[], model = 'gpt-4o-mini-2024-07-18'): AiProvider {
  let i = 0;
  return {
    name: 'openai',
    async generate() {
      const text = answers[Math.min(i++, answers.length - 1)]!;
      return { text, model, tokens_prompt: 2_000_000, tokens_output: 1_000_000 };
    },
  };
}

describe('prices', () => {
  it('prices known models per million tokens, dated snapshots by their base name', () => {
    expect(priceOf(BUILTIN_PRICES, 'gpt-4o-mini-2024-07-18')).toEqual(BUILTIN_PRICES.models['gpt-4o-mini']);
    const call = {
      provider: 'openai',
      model: 'gpt-4o-mini',
      tokens_prompt: 1_000_000,
      tokens_output: 1_000_000,
    };
    expect(costUsd(BUILTIN_PRICES, call)).toBe(0.75);
    expect(costUsd(BUILTIN_PRICES, { ...call, model: 'gpt-4o-mini-2024-07-18' })).toBe(0.75);
  });

  it('costs null for an unknown model, 0 for the mock whatever model it echoes', () => {
    const call = { provider: 'openai', model: 'llama3.2', tokens_prompt: 10, tokens_output: 10 };
    expect(costUsd(BUILTIN_PRICES, call)).toBeNull();
    expect(costUsd(BUILTIN_PRICES, { ...call, model: 'constructor' })).toBeNull();
    expect(costUsd(BUILTIN_PRICES, { ...call, provider: 'mock', model: 'gpt-4o' })).toBe(0);
    expect(costUsd(BUILTIN_PRICES, { ...call, model: MOCK_MODEL })).toBe(0);
    expect(BUILTIN_PRICES.version).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('lays FLOWRUNNER_AI_PRICES over the table and names the variable when it is malformed', () => {
    const table = pricesFromEnv(
      '{"llama3.2": {"input_per_1m": 0.1, "output_per_1m": 0.2}, "gpt-4o": {"input_per_1m": 1, "output_per_1m": 2}}',
    );
    expect(table.version).toBe(`${BUILTIN_PRICES.version}+config`);
    expect(table.models['llama3.2']).toEqual({ input_per_1m: 0.1, output_per_1m: 0.2 });
    expect(table.models['gpt-4o']).toEqual({ input_per_1m: 1, output_per_1m: 2 });
    expect(table.models['gpt-4o-mini']).toEqual(BUILTIN_PRICES.models['gpt-4o-mini']);
    expect(pricesFromEnv(undefined)).toBe(BUILTIN_PRICES);
    for (const bad of [
      '{',
      '[]',
      '{"m": {"input_per_1m": -1, "output_per_1m": 0}}',
      '{"m": {"input_per_1m": 1}}',
    ]) {
      expect(() => pricesFromEnv(bad)).toThrow(/FLOWRUNNER_AI_PRICES/);
    }
  });

  it('is read by aiSettings with FLOWRUNNER_CAPTURE_AI_CONTENT', () => {
    const settings = aiSettings({
      FLOWRUNNER_AI_PRICES: '{"x": {"input_per_1m": 1, "output_per_1m": 1}}',
      FLOWRUNNER_CAPTURE_AI_CONTENT: 'true',
    });
    expect(settings.captureContent).toBe(true);
    expect(settings.prices?.models.x).toEqual({ input_per_1m: 1, output_per_1m: 1 });
    expect(aiSettings({ FLOWRUNNER_CAPTURE_AI_CONTENT: 'false' })).toEqual({
      provider: 'mock',
      mode: 'success',
      seed: 0,
    });
    expect(() => aiSettings({ FLOWRUNNER_CAPTURE_AI_CONTENT: 'yes' })).toThrow(
      /FLOWRUNNER_CAPTURE_AI_CONTENT/,
    );
  });
});

describe('ai_generate: usage and privacy in events', () => {
  it('puts every usage field and cost_usd on ai.response, and no text by default', async () => {
    const ai = withAiPolicy(scripted(['{"c": 1}', '{"c": "ok"}']), {
      prices: BUILTIN_PRICES,
      captureContent: false,
    });
    const { result, events } = await execute(
      aiGenerate,
      { prompt: 'secret plan', json_schema: schema },
      { deps: { ai } },
    );
    expect(result.status).toBe('completed');
    const responses = events.filter((e) => e.type === 'ai.response').map((e) => e.data);
    expect(responses).toHaveLength(2);
    expect(responses[1]).toEqual({
      provider: 'openai',
      model: 'gpt-4o-mini-2024-07-18',
      template_id: null,
      template_version: null,
      tokens_prompt: 2_000_000,
      tokens_output: 1_000_000,
      latency_ms: expect.any(Number),
      retry_count: 1,
      cost_usd: 0.9,
      price_version: BUILTIN_PRICES.version,
      valid: true,
    });
    expect(JSON.stringify(events)).not.toMatch(/secret plan|"ok"/);
  });

  it('costs null for an unpriced model; a bare provider (no policy) prices nothing', async () => {
    const { events } = await execute(
      aiGenerate,
      { prompt: 'x', json_schema: schema },
      { deps: { ai: withAiPolicy(scripted(['{"c": "a"}'], 'llama3.2'), DEFAULT_AI_POLICY) } },
    );
    expect(events.find((e) => e.type === 'ai.response')?.data.cost_usd).toBeNull();
    const bare = await execute(
      aiGenerate,
      { prompt: 'x', json_schema: schema },
      { deps: { ai: scripted(['{"c": "a"}']) } },
    );
    const data = bare.events.find((e) => e.type === 'ai.response')?.data;
    expect(data).not.toHaveProperty('cost_usd');
    expect(data).not.toHaveProperty('answer');
  });

  it('captures the messages of each call and the answers with FLOWRUNNER_CAPTURE_AI_CONTENT, cut to a bound', async () => {
    const ai = withAiPolicy(scripted(['not json', '{"c": "ok"}']), {
      prices: BUILTIN_PRICES,
      captureContent: true,
    });
    const long = 'p'.repeat(CAPTURED_TEXT_LIMIT + 10);
    const { events } = await execute(
      aiGenerate,
      { prompt: long, system: 'be brief', json_schema: schema },
      { deps: { ai } },
    );
    const requests = events
      .filter((e) => e.type === 'ai.request')
      .map((e) => e.data.messages as { role: string; content: string }[]);
    expect(requests[0]!.map((m) => m.role)).toEqual(['system', 'user']);
    expect(requests[0]![1]!.content).toBe(`${'p'.repeat(CAPTURED_TEXT_LIMIT)}…[10 more characters not kept]`);
    expect(requests[1]!.map((m) => m.role)).toEqual(['user']);
    expect(requests[1]![0]!.content).toMatch(/not valid JSON/);
    const answers = events.filter((e) => e.type === 'ai.response').map((e) => e.data.answer);
    expect(answers).toEqual(['not json', '{"c": "ok"}']);
  });

  it('is attached by the composition function from the settings, to a test provider too', async () => {
    const deps = composeOrchestrator({ ai: scripted(['{"c": "a"}'], 'x'), stores: {} } as never, {
      allowPrivateNetwork: false,
      allowLoopback: false,
      ai: {
        provider: 'mock',
        mode: 'success',
        seed: 0,
        captureContent: true,
        prices: pricesFromEnv('{"x": {"input_per_1m": 1, "output_per_1m": 0}}'),
      },
    });
    expect(deps.ai.name).toBe('openai');
    const { events } = await execute(
      aiGenerate,
      { prompt: 'hello', json_schema: schema },
      { deps: { ai: deps.ai } },
    );
    const response = events.find((e) => e.type === 'ai.response')!.data;
    expect(response.cost_usd).toBe(2);
    expect(response.answer).toBe('{"c": "a"}');
  });
});

describe('the OpenAI key from Secrets Manager', () => {
  it('reads a plain key or {"api_key"}, and refuses anything else without repeating it', () => {
    expect(openAiKeyFromSecret(' sk-abc \n')).toBe('sk-abc');
    expect(openAiKeyFromSecret('{"api_key": "sk-def"}')).toBe('sk-def');
    expect(openAiKeyFromSecret('{"OPENAI_API_KEY": "sk-ghi"}')).toBe('sk-ghi');
    for (const bad of [undefined, '', '{"key": "sk-x"}', '{sk-oops', 'two words']) {
      let message = '';
      try {
        openAiKeyFromSecret(bad);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/OpenAI secret/);
      expect(message).not.toMatch(/sk-|oops|words/);
    }
  });
});

describe('captured prompts through the executor', () => {
  it('scrubs a resolved secret from the captured messages, and captures nothing without the setting', async () => {
    const workflow = `schema_version: "1.0"
id: wf
steps:
  - id: ask
    type: ai_generate
    config:
      prompt: "Use token {{ secrets.api_token }} to classify"
      json_schema: { type: object, required: [c], properties: { c: { type: string } } }
`;
    const run = async (captureContent: boolean) => {
      const harness = new Harness({
        workflows: [workflow],
        secrets: { api_token: 'tok-s3cr3t-value' },
        settings: {
          allowPrivateNetwork: true,
          allowLoopback: true,
          ai: { provider: 'mock', mode: 'success', seed: 0, ...(captureContent ? { captureContent } : {}) },
        },
      });
      const started = await harness.start('wf');
      expect(harness.run(started.id).status).toBe('completed');
      return harness.events(started.id).filter((e) => e.type.startsWith('ai.'));
    };
    const captured = await run(true);
    const text = JSON.stringify(captured);
    expect(text).toContain('Use token');
    expect(text).not.toContain('tok-s3cr3t-value');
    expect(captured.find((e) => e.type === 'ai.response')?.data).toMatchObject({
      cost_usd: 0,
      answer: expect.any(String),
    });
    const plain = JSON.stringify(await run(false));
    expect(plain).not.toMatch(/Use token|tok-s3cr3t/);
  });
});
