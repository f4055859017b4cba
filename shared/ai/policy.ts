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

/** The provider with `policy` applied: same name, same calls, every answer priced. */
export function withAiPolicy(provider: AiProvider, policy: AiPolicy): PolicyAiProvider {
  return {
    name: provider.name,
    captureContent: policy.captureContent,
    async generate(request) {
      const response = await provider.generate(request);
      return {
        ...response,
        cost_usd: costUsd(policy.prices, {
          provider: provider.name,
          model: response.model,
          tokens_prompt: response.tokens_prompt,
          tokens_output: response.tokens_output,
        }),
        price_version: policy.prices.version,
      };
    },
  };
}
