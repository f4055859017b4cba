/** The AI provider's settings (CONTRACT §5, §7) and the steerable mock (`MOCK_AI_ANSWERS`). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMockAiProvider, parseMockAiAnswers } from '../../../shared/ai/mock-provider.js';
import { aiSettings, orchestratorSettings } from '../../../shared/orchestration/compose.js';
import { aiGenerate } from '../../../shared/steps/ai-generate.js';
import { execute } from '../steps/context.js';

const dir = mkdtempSync(join(tmpdir(), 'flowrunner-ai-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe('aiSettings', () => {
  it('defaults to the mock, and to openai when OPENAI_API_KEY is set', () => {
    expect(aiSettings({})).toEqual({ provider: 'mock', mode: 'success', seed: 0 });
    expect(aiSettings({ OPENAI_API_KEY: 'sk-1' })).toEqual({
      provider: 'openai',
      apiKey: 'sk-1',
      model: 'gpt-4o-mini',
    });
    expect(aiSettings({ OPENAI_API_KEY: 'sk-1', AI_PROVIDER: 'mock' }).provider).toBe('mock');
  });

  it('reads OPENAI_BASE_URL and OPENAI_MODEL', () => {
    expect(
      orchestratorSettings(
        {
          AI_PROVIDER: 'openai',
          OPENAI_API_KEY: 'k',
          OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
          OPENAI_MODEL: 'llama3.2',
        },
        { allowLoopback: true },
      ).ai,
    ).toEqual({ provider: 'openai', apiKey: 'k', baseUrl: 'http://127.0.0.1:11434/v1', model: 'llama3.2' });
  });

  it('names a bad value', () => {
    expect(() => aiSettings({ AI_PROVIDER: 'bedrok' })).toThrow(
      /AI_PROVIDER must be one of mock, openai, bedrock, got 'bedrok'/,
    );
    expect(() => aiSettings({ AI_PROVIDER: 'openai' })).toThrow(/OPENAI_API_KEY/);
    expect(() => aiSettings({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'localhost:8080' })).toThrow(
      /OPENAI_BASE_URL/,
    );
    expect(() => aiSettings({ MOCK_AI_ANSWERS: join(dir, 'missing.yaml') })).toThrow(
      /MOCK_AI_ANSWERS.*ENOENT/,
    );
    expect(() => aiSettings({ MOCK_AI_ANSWERS: file('bad.yaml', 'other: 1') })).toThrow(/MOCK_AI_ANSWERS/);
    expect(() => aiSettings({ MOCK_AI_ANSWERS: file('bad.json', '{"steps": [1,') })).toThrow(
      /MOCK_AI_ANSWERS/,
    );
  });
});

describe('aiSettings: bedrock', () => {
  it('reads BEDROCK_MODEL, the region and AWS_ENDPOINT_URL_BEDROCK_RUNTIME', () => {
    expect(
      aiSettings({ AI_PROVIDER: 'bedrock', BEDROCK_MODEL: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0' }),
    ).toEqual({ provider: 'bedrock', model: 'eu.anthropic.claude-haiku-4-5-20251001-v1:0' });
    expect(
      aiSettings({
        AI_PROVIDER: 'bedrock',
        BEDROCK_MODEL: 'amazon.nova-lite-v1:0',
        AWS_DEFAULT_REGION: 'us-west-2',
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'http://127.0.0.1:4000',
      }),
    ).toEqual({
      provider: 'bedrock',
      model: 'amazon.nova-lite-v1:0',
      region: 'us-west-2',
      endpoint: 'http://127.0.0.1:4000',
    });
    expect(
      aiSettings({
        AI_PROVIDER: 'bedrock',
        BEDROCK_MODEL: 'm',
        AWS_REGION: 'eu-west-1',
        AWS_DEFAULT_REGION: 'x',
      }),
    ).toMatchObject({ region: 'eu-west-1' });
  });

  it('names a missing or malformed model and a bad endpoint', () => {
    expect(() => aiSettings({ AI_PROVIDER: 'bedrock' })).toThrow(/BEDROCK_MODEL/);
    expect(() => aiSettings({ AI_PROVIDER: 'bedrock', BEDROCK_MODEL: 'a model' })).toThrow(/BEDROCK_MODEL/);
    expect(() =>
      aiSettings({ AI_PROVIDER: 'bedrock', BEDROCK_MODEL: 'm', AWS_ENDPOINT_URL_BEDROCK_RUNTIME: 'nope' }),
    ).toThrow(/AWS_ENDPOINT_URL_BEDROCK_RUNTIME/);
  });
});

describe('MOCK_AI_ANSWERS', () => {
  const schema = {
    type: 'object',
    required: ['category'],
    properties: { category: { type: 'string', enum: ['refund', 'question', 'other'] } },
  };

  it('reads YAML and JSON files into the mock settings', () => {
    const yaml = file(
      'answers.yaml',
      'steps:\n  triage: {category: refund}\nprompts:\n  "where is": {category: question}\n',
    );
    const json = file('answers.json', JSON.stringify({ steps: { triage: { category: 'other' } } }));
    expect(aiSettings({ MOCK_AI_ANSWERS: yaml })).toMatchObject({
      provider: 'mock',
      answers: {
        steps: { triage: { category: 'refund' } },
        prompts: { 'where is': { category: 'question' } },
      },
    });
    expect(aiSettings({ MOCK_AI_ANSWERS: json })).toMatchObject({
      answers: { steps: { triage: { category: 'other' } } },
    });
  });

  it('answers by step id first, then by the first prompt substring, else as usual', async () => {
    const answers = parseMockAiAnswers(
      'steps:\n  triage: {category: refund}\nprompts:\n  "where is": {category: question}\n  "is": {category: other}\n',
    );
    const ai = createMockAiProvider({ answers });
    const ask = (step_id: string, prompt: string) =>
      ai.generate({
        step_id,
        messages: [{ role: 'user', content: prompt }],
        json_schema: schema,
        timeoutMs: 1000,
      });
    expect(JSON.parse((await ask('triage', 'where is my parcel')).text)).toEqual({ category: 'refund' });
    expect(JSON.parse((await ask('other_step', 'where is my parcel')).text)).toEqual({
      category: 'question',
    });
    expect(JSON.parse((await ask('other_step', 'this is it')).text)).toEqual({ category: 'other' });
    const generated = JSON.parse((await ask('other_step', 'hello')).text);
    expect(['refund', 'question', 'other']).toContain(generated.category);
  });

  it('steers an ai_generate step, and a fixed answer is still validated against the schema', async () => {
    const ai = createMockAiProvider({
      answers: { steps: { triage: { category: 'refund' }, broken: { category: 'nonsense' } } },
    });
    const { result } = await execute(
      aiGenerate,
      { prompt: 'x', json_schema: schema },
      { deps: { ai }, step: { id: 'triage' } },
    );
    expect(result).toMatchObject({ status: 'completed', output: { category: 'refund' } });
    await expect(
      execute(
        aiGenerate,
        { prompt: 'x', json_schema: schema, max_retries: 1 },
        { deps: { ai }, step: { id: 'broken' } },
      ),
    ).rejects.toMatchObject({ code: 'AiSchemaViolation' });
  });
});
