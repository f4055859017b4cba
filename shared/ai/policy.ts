/**
 * What a host decides about AI calls beyond which model answers: the price table `cost_usd` is read
 * from, and whether prompt and answer text may be written to `ai.request`/`ai.response` events
 * (`FLOWRUNNER_CAPTURE_AI_CONTENT=true`; off by default).
 *
 * The composition function wraps the provider it chooses (or the one a test passes) with the policy
 * of its settings. The wrapper prices every answer (`cost_usd`, `price_version` on the response) and
 * says whether content may be captured (`captureContent` on the provider); `ai_generate`, in the pure
 * core, reads both structurally (shared/steps/ai-generate.ts) and imports nothing from here.
 */
import type { AiProvider, AiResponse } from '../ports/index.js';
import { BUILTIN_PRICES, costUsd, type PriceTable } from './prices.js';

export interface AiPolicy {
  prices: PriceTable;
  /** Prompt and answer text in events (scrubbed of secrets, cut to a bounded length by the step). */
  captureContent: boolean;
}

export const DEFAULT_AI_POLICY: AiPolicy = { prices: BUILTIN_PRICES, captureContent: false };

/** An answer priced by the policy's table: `cost_usd` null when the model has no price. */
export interface PricedAiResponse extends AiResponse {
  cost_usd: number | null;
  price_version: string;
}

export interface PolicyAiProvider extends AiProvider {
  readonly captureContent: boolean;
  generate(request: Parameters<AiProvider['generate']>[0]): Promise<PricedAiResponse>;
}

/**
 * The model an answer names, as far as it can be believed: at most this long, printable ASCII
 * without spaces (`gpt-4o-mini-2024-07-18`, `anthropic.claude-3-5-sonnet-20240620-v1:0`).
 */
const MAX_MODEL_NAME = 200;
const MODEL_NAME = /^[\x21-\x7e]+$/;

/** The model an answer names, if it is a name (`believable`), else the one asked for. */
export function reportedModel(reported: unknown, asked: string): string {
  return typeof reported === 'string' && reported.length <= MAX_MODEL_NAME && MODEL_NAME.test(reported)
    ? reported
    : asked;
}

/**
 * What the model server says about an answer is the server's word: a model name becomes a metric
 * label, an event field and a span attribute, and token counts are summed into totals and prices.
 * A name that is not one is replaced by the model asked for, a count that is not a count by 0 (a
 * server reported 2 MB names, then `"lots"` and -1e9 tokens: /metrics grew by 400 MB and then could
 * no longer be parsed, and runs showed negative costs).
 */
function believable(response: AiResponse, asked: string): AiResponse {
  const count = (value: unknown) =>
    Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : 0;
  return {
    ...response,
    model: reportedModel(response.model, asked),
    tokens_prompt: count(response.tokens_prompt),
    tokens_output: count(response.tokens_output),
  };
}

/** The provider with `policy` applied: same name, same calls, every answer checked and priced. */
export function withAiPolicy(provider: AiProvider, policy: AiPolicy): PolicyAiProvider {
  return {
    name: provider.name,
    captureContent: policy.captureContent,
    async generate(request) {
      const response = believable(await provider.generate(request), request.model ?? provider.name);
      const cost = costUsd(policy.prices, {
        provider: provider.name,
        model: response.model,
        tokens_prompt: response.tokens_prompt,
        tokens_output: response.tokens_output,
      });
      return {
        ...response,
        cost_usd: cost !== null && Number.isFinite(cost) ? cost : null,
        price_version: policy.prices.version,
      };
    },
  };
}
