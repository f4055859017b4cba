/**
 * AI figure for `npm run bench`:
 *
 * - `ai_overhead_ms_per_call`: milliseconds one `ai_generate` call costs besides the model's own
 *   time — rendering the messages, the strict-schema transform, the official `openai` client (request
 *   building, HTTP over loopback, response parsing), restoring and validating the answer, pricing and
 *   the events — against a loopback OpenAI-compatible server that answers at once. The provider is
 *   the one the composition function builds from `AI_PROVIDER=openai`. Median of several timed rounds
 *   after a warm-up (the first calls open the connection and compile the schema).
 */
import { performance } from 'node:perf_hooks';
import { aiSettings, composeOrchestrator } from '../../shared/orchestration/compose.js';
import { aiGenerate } from '../../shared/steps/ai-generate.js';
import { startFakeOpenAi } from '../support/fake-openai.js';
import { stepContext } from '../unit/steps/context.js';

const schema = {
  type: 'object',
  required: ['subject', 'body'],
  properties: {
    subject: { type: 'string', minLength: 1 },
    body: { type: 'string' },
    cc: { type: 'array', items: { type: 'string', format: 'email' } },
  },
};

export interface AiOverhead {
  ms_per_call: number;
  /** Requests the server saw in the last round: one per call, or the figure measured no model call. */
  requests_per_round: number;
}

export async function measureAiOverhead(calls = 200, rounds = 5): Promise<AiOverhead> {
  const fake = await startFakeOpenAi();
  fake.fallback = { kind: 'json', value: { subject: 'Welcome', body: 'Hello Ann', cc: null } };
  try {
    const { ai } = composeOrchestrator({ stores: {} } as never, {
      allowPrivateNetwork: false,
      allowLoopback: true,
      ai: aiSettings({ AI_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.baseUrl }),
    });
    const once = async () => {
      const ctx = stepContext(
        aiGenerate,
        { prompt: 'Write a welcome mail for Ann on the pro plan.', system: 'Be brief.', json_schema: schema },
        { deps: { ai } },
      );
      const result = await aiGenerate.execute(ctx);
      if (result.status !== 'completed') throw new Error(`ai_generate ended ${JSON.stringify(result)}`);
    };
    for (let i = 0; i < 20; i++) await once();
    const perCall: number[] = [];
    for (let round = 0; round < rounds; round++) {
      fake.requests.length = 0;
      const started = performance.now();
      for (let i = 0; i < calls; i++) await once();
      perCall.push((performance.now() - started) / calls);
    }
    perCall.sort((a, b) => a - b);
    return {
      ms_per_call: perCall[Math.floor(perCall.length / 2)]!,
      requests_per_round: fake.requests.length,
    };
  } finally {
    await fake.close();
  }
}
