/** CONTRACT §7: the run view's `usage`, summed from the run's `ai.response` events. */
import { describe, expect, it, vi } from 'vitest';
import { withAiPolicy } from '../../../shared/ai/policy.js';
import { BUILTIN_PRICES } from '../../../shared/ai/prices.js';
import type { AiProvider } from '../../../shared/ports/index.js';
import { setUp } from './support.js';

const AI_YAML = `schema_version: "1.0"
id: triage
steps:
  - id: first
    type: ai_generate
    config:
      prompt: Classify
      json_schema: { type: object, required: [c], properties: { c: { type: string } } }
    next: second
  - id: second
    type: ai_generate
    config:
      prompt: Again
      model: "{{ inputs.model }}"
      json_schema: { type: object, required: [c], properties: { c: { type: string } } }
`;

/** A model that answers at once with fixed token counts; the first answer of `second` does not fit once. */
function scripted(): AiProvider {
  let calls = 0;
  return {
    name: 'openai',
    async generate(request) {
      calls += 1;
      const text = calls === 2 ? '{"c": 1}' : '{"c": "ok"}';
      return {
        text,
        model: request.model ?? 'gpt-4o-mini-2024-07-18',
        tokens_prompt: 1000,
        tokens_output: 200,
      };
    },
  };
}

async function runWith(model: string) {
  const t = await setUp();
  t.deps.ai = withAiPolicy(scripted(), { prices: BUILTIN_PRICES, captureContent: false });
  const created = await t.call('POST', '/v1/workflows', {
    raw: AI_YAML,
    headers: { 'content-type': 'text/yaml' },
  });
  expect(created.status).toBe(201);
  const started = await t.call('POST', '/v1/executions', {
    body: { workflow_id: 'triage', inputs: { model } },
  });
  await t.drive(started.body.id);
  return { t, id: started.body.id as string };
}

describe('api: usage in the run view', () => {
  it('sums tokens, calls and cost of every ai.response, retries included', async () => {
    const { t, id } = await runWith('gpt-4o-mini');
    const view = await t.call('GET', `/v1/executions/${id}`);
    expect(view.body.status).toBe('completed');
    // first: 1 call; second: an answer that does not fit, then one that does.
    // gpt-4o-mini: 3 × (1000 × 0.15 + 200 × 0.6) / 1e6 = 3 × 0.00027
    expect(view.body.usage).toEqual({
      tokens_prompt: 3000,
      tokens_output: 600,
      cost_usd: 0.00081,
      ai_calls: 3,
    });
  });

  it('gives a null cost as soon as one call used a model without a price', async () => {
    const { t, id } = await runWith('my-local-llama');
    const view = await t.call('GET', `/v1/executions/${id}`);
    expect(view.body.usage).toEqual({ tokens_prompt: 3000, tokens_output: 600, cost_usd: null, ai_calls: 3 });
  });

  it('answers zeros without reading the events of a run whose workflow calls no model', async () => {
    const t = await setUp();
    const id = await t.startWaiting();
    const events = vi.spyOn(t.deps.stores.runs, 'events');
    const view = await t.call('GET', `/v1/executions/${id}`);
    expect(view.status).toBe(200);
    expect(view.body.usage).toEqual({ tokens_prompt: 0, tokens_output: 0, cost_usd: 0, ai_calls: 0 });
    expect(events).not.toHaveBeenCalled();
  });
});
