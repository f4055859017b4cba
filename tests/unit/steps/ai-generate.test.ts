import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/adapters/clock.js';
import { createMockAiProvider } from '../../../shared/ai/mock-provider.js';
import { StepError } from '../../../shared/errors.js';
import type { AiProvider, AiRequest, AiResponse } from '../../../shared/ports/index.js';
import { aiGenerate, aiGenerateConfig } from '../../../shared/steps/ai-generate.js';
import { createMemoryStores } from '../../../shared/storage/memory/stores.js';
import { execute } from './context.js';

const mail = {
  type: 'object',
  required: ['subject', 'body'],
  properties: { subject: { type: 'string' }, body: { type: 'string' } },
};

/** A provider that answers the scripted texts in turn and keeps every request. */
function scripted(...answers: Array<string | Error>): AiProvider & { requests: AiRequest[] } {
  const requests: AiRequest[] = [];
  return {
    name: 'scripted',
    requests,
    async generate(request): Promise<AiResponse> {
      requests.push(request);
      const answer = answers[requests.length - 1] ?? answers.at(-1)!;
      if (answer instanceof Error) throw answer;
      return { text: answer, model: request.model ?? 'm-1', tokens_prompt: 10, tokens_output: 5 };
    },
  };
}

const good = '{"subject":"Welcome","body":"Hello Ann"}';

describe('ai_generate.execute', () => {
  it('outputs the JSON the model answered, once valid against json_schema', async () => {
    const ai = scripted(good);
    const { result } = await execute(
      aiGenerate,
      {
        prompt: 'Write a welcome mail for Ann',
        system: 'You write mails.',
        model: 'm-2',
        json_schema: mail,
        temperature: 0.2,
      },
      { deps: { ai } },
    );
    expect(result).toEqual({
      status: 'completed',
      outcome: 'success',
      output: { subject: 'Welcome', body: 'Hello Ann' },
    });
    expect(ai.requests).toHaveLength(1);
    expect(ai.requests[0]).toMatchObject({
      model: 'm-2',
      temperature: 0.2,
      json_schema: mail,
      messages: [
        { role: 'system', content: 'You write mails.' },
        { role: 'user', content: 'Write a welcome mail for Ann' },
      ],
    });
  });

  it('reads an answer wrapped in a ```json fence', async () => {
    const { result } = await execute(
      aiGenerate,
      { prompt: 'p', json_schema: mail },
      { deps: { ai: scripted('```json\n' + good + '\n```') } },
    );
    expect(result).toMatchObject({ status: 'completed', output: { subject: 'Welcome' } });
  });

  it('asks again with the bad answer and the validation errors, and succeeds', async () => {
    const ai = scripted('{"subject":"Welcome"}', good);
    const { result, events } = await execute(
      aiGenerate,
      { prompt: 'p', json_schema: mail },
      { deps: { ai } },
    );
    expect(result).toMatchObject({ status: 'completed' });
    expect(ai.requests[1]!.messages).toEqual([
      { role: 'user', content: 'p' },
      { role: 'assistant', content: '{"subject":"Welcome"}' },
      { role: 'user', content: expect.stringContaining("at /: must have required property 'body'") },
    ]);
    expect(events.map((e) => [e.type, e.data.valid ?? e.data.attempt])).toEqual([
      ['ai.request', 1],
      ['ai.response', false],
      ['ai.request', 2],
      ['ai.response', true],
    ]);
  });

  it('says when the answer was not JSON at all', async () => {
    const ai = scripted('Dear Ann', good);
    await execute(aiGenerate, { prompt: 'p', json_schema: mail }, { deps: { ai } });
    expect(ai.requests[1]!.messages.at(-1)!.content).toContain('not valid JSON');
  });

  it('fails with AiSchemaViolation, not retried, after max_retries further tries', async () => {
    const ai = scripted('{"subject":1}');
    const attempt = execute(aiGenerate, { prompt: 'p', json_schema: mail, max_retries: 1 }, { deps: { ai } });
    await expect(attempt).rejects.toMatchObject({
      code: 'AiSchemaViolation',
      retryable: false,
      details: {
        tries: 2,
        errors: [
          { path: '/', message: "must have required property 'body'" },
          { path: '/subject', message: 'must be string' },
        ],
      },
    });
    expect(ai.requests).toHaveLength(2);
  });

  it('tries three times by default', async () => {
    const ai = scripted('[]');
    await expect(execute(aiGenerate, { prompt: 'p', json_schema: mail }, { deps: { ai } })).rejects.toThrow();
    expect(ai.requests).toHaveLength(3);
  });

  it('lets provider errors through, so the engine retries the retryable ones', async () => {
    const ai = scripted(new StepError('AiThrottled', 'slow down', { retryable: true }));
    await expect(
      execute(aiGenerate, { prompt: 'p', json_schema: mail }, { deps: { ai } }),
    ).rejects.toMatchObject({
      code: 'AiThrottled',
      retryable: true,
    });
  });

  it('records ai.request and ai.response with names, counts and times, never the prompt or the answer', async () => {
    const ai = scripted(good);
    const { events } = await execute(
      aiGenerate,
      { prompt: 'Secret: Ann Smith', json_schema: mail },
      { deps: { ai } },
    );
    expect(events).toEqual([
      { type: 'ai.request', data: { provider: 'scripted', model: null, attempt: 1 } },
      {
        type: 'ai.response',
        data: {
          provider: 'scripted',
          model: 'm-1',
          template_id: null,
          template_version: null,
          tokens_prompt: 10,
          tokens_output: 5,
          latency_ms: expect.any(Number),
          retry_count: 0,
          valid: true,
        },
      },
    ]);
    expect(JSON.stringify(events)).not.toMatch(/Ann|Welcome/);
  });

  it("renders a prompt template against the step's variables, and uses the template's model", async () => {
    const ai = scripted(good, good);
    const { templates } = createMemoryStores();
    const at = new Date('2026-01-01T00:00:00.000Z');
    await templates.create({ id: 'welcome', text: 'old', model: 'gpt-old' }, at);
    await templates.update(
      {
        id: 'welcome',
        text: 'Welcome {{ name }} on {{ plan.name }}',
        system: 'Be warm to {{ name }}.',
        model: 'gpt-template',
      },
      at,
    );
    const config = {
      template_id: 'welcome',
      variables: { name: 'Ann', plan: { name: 'pro' } },
      json_schema: mail,
    };
    const { events } = await execute(aiGenerate, config, {
      deps: { ai, templates },
      context: { inputs: { name: 'not seen by the template' } },
    });
    expect(ai.requests[0]!.messages).toEqual([
      { role: 'system', content: 'Be warm to Ann.' },
      { role: 'user', content: 'Welcome Ann on pro' },
    ]);
    expect(ai.requests[0]!.model).toBe('gpt-template');
    expect(events[0]!.data).toMatchObject({
      template_id: 'welcome',
      template_version: 2,
      model: 'gpt-template',
    });
    expect(events[1]!.data).toMatchObject({ template_id: 'welcome', template_version: 2 });
    // The step's own model wins over the template's; a version asked for is the one used.
    await execute(
      aiGenerate,
      { ...config, template_version: 1, model: 'gpt-step' },
      { deps: { ai, templates } },
    );
    expect(ai.requests[1]!).toMatchObject({
      model: 'gpt-step',
      messages: [{ role: 'user', content: 'old' }],
    });
  });

  it('refuses template_version or variables without template_id', () => {
    expect(aiGenerateConfig.safeParse({ prompt: 'p', variables: {}, json_schema: mail }).success).toBe(false);
    expect(aiGenerateConfig.safeParse({ prompt: 'p', template_version: 2, json_schema: mail }).success).toBe(
      false,
    );
  });

  it('fails without retry when the template does not exist', async () => {
    await expect(
      execute(aiGenerate, { template_id: 'nope', template_version: 1, json_schema: mail }),
    ).rejects.toMatchObject({ code: 'NotFound', retryable: false });
  });

  it("gives each call the config's timeout, bounded by the attempt's time left", async () => {
    const ai = scripted(good);
    await execute(
      aiGenerate,
      { prompt: 'p', json_schema: mail, timeout_s: 30 },
      { deps: { ai }, timeoutMs: 5000 },
    );
    await execute(
      aiGenerate,
      { prompt: 'p', json_schema: mail, timeout_s: 2 },
      { deps: { ai }, timeoutMs: 5000 },
    );
    expect(ai.requests.map((r) => r.timeoutMs)).toEqual([5000, 2000]);
  });

  it('gives a feedback retry only what is left of the attempt after the calls before it', async () => {
    const clock = new ManualClock(new Date('2026-03-01T12:00:00.000Z'));
    const slow = scripted('{"subject":"x"}', good);
    const ai: AiProvider = {
      name: 'slow',
      async generate(request) {
        clock.advance(3_000);
        return slow.generate(request);
      },
    };
    await execute(
      aiGenerate,
      { prompt: 'p', json_schema: mail, timeout_s: 30, max_retries: 1 },
      { deps: { ai, clock }, timeoutMs: 5000 },
    );
    expect(slow.requests.map((r) => r.timeoutMs)).toEqual([5000, 2000]);
  });

  it('fails a temperature a placeholder left out of range without retry', async () => {
    await expect(
      execute(aiGenerate, { prompt: 'p', json_schema: mail, temperature: '{{ inputs.t }}' }),
    ).rejects.toMatchObject({ code: 'InvalidConfig', retryable: false });
  });

  it('works end to end with the mock provider', async () => {
    const { result } = await execute(
      aiGenerate,
      { prompt: 'p', json_schema: mail },
      { deps: { ai: createMockAiProvider({ seed: 9 }) } },
    );
    expect(result).toMatchObject({
      status: 'completed',
      output: { subject: expect.any(String), body: expect.any(String) },
    });
  });

  it('recovers from the mock schema violations only through its retries, then fails', async () => {
    const ai = createMockAiProvider({ mode: 'schema_violation' });
    await expect(
      execute(aiGenerate, { prompt: 'p', json_schema: mail }, { deps: { ai } }),
    ).rejects.toMatchObject({
      code: 'AiSchemaViolation',
    });
  });
});
