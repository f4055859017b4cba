/**
 * What an AI call costs (CONTRACT §7: `cost_usd` on every `ai.response`): a versioned table of prices
 * per model in USD per million tokens, kept in code and overridable by configuration
 * (`FLOWRUNNER_AI_PRICES`, read by `aiSettings` in shared/orchestration/compose.ts).
 *
 * A model the table does not know costs `null` (unknown), never 0: a total that silently leaves out
 * a model would read as cheaper than it is. The mock costs 0 whatever model name it echoes.
 */
import { z } from 'zod';
import { ConfigurationError } from '../errors.js';
import { MOCK_MODEL } from './mock-provider.js';

export interface ModelPrice {
  /** USD per 1,000,000 prompt (input) tokens. */
  input_per_1m: number;
  /** USD per 1,000,000 output tokens. */
  output_per_1m: number;
}

export interface PriceTable {
  /** Which prices these are: the built-in table's date, `+config` when configuration changed it. */
  version: string;
  /** Prices by model name as the provider reports it (a dated snapshot falls back to its base name). */
  models: Readonly<Record<string, ModelPrice>>;
}

/**
 * OpenAI's list prices (standard tier, not batch or cached input) as published on
 * https://openai.com/api/pricing on the date of `version`. Update the models and the version together.
 */
export const BUILTIN_PRICES: PriceTable = {
  version: '2025-08-07',
  models: {
    'gpt-5': { input_per_1m: 1.25, output_per_1m: 10 },
    'gpt-5-mini': { input_per_1m: 0.25, output_per_1m: 2 },
    'gpt-5-nano': { input_per_1m: 0.05, output_per_1m: 0.4 },
    'gpt-4.1': { input_per_1m: 2, output_per_1m: 8 },
    'gpt-4.1-mini': { input_per_1m: 0.4, output_per_1m: 1.6 },
    'gpt-4.1-nano': { input_per_1m: 0.1, output_per_1m: 0.4 },
    'gpt-4o': { input_per_1m: 2.5, output_per_1m: 10 },
    'gpt-4o-mini': { input_per_1m: 0.15, output_per_1m: 0.6 },
    'o4-mini': { input_per_1m: 1.1, output_per_1m: 4.4 },
    o3: { input_per_1m: 2, output_per_1m: 8 },
    [MOCK_MODEL]: { input_per_1m: 0, output_per_1m: 0 },
  },
};

/** `gpt-4o-mini-2024-07-18` → `gpt-4o-mini`: OpenAI answers with the dated snapshot it used. */
const DATED_SNAPSHOT = /-\d{4}-\d{2}-\d{2}$/;

/** The price of a model, or undefined when the table does not know it. */
export function priceOf(table: PriceTable, model: string): ModelPrice | undefined {
  const own = Object.hasOwn(table.models, model) ? table.models[model] : undefined;
  if (own) return own;
  const base = model.replace(DATED_SNAPSHOT, '');
  return base !== model && Object.hasOwn(table.models, base) ? table.models[base] : undefined;
}

/**
 * USD for one call, rounded to a billionth of a dollar; `null` when the model's price is unknown.
 * The mock provider is free whatever model a step names.
 */
export function costUsd(
  table: PriceTable,
  call: { provider: string; model: string; tokens_prompt: number; tokens_output: number },
): number | null {
  if (call.provider === 'mock') return 0;
  const price = priceOf(table, call.model);
  if (!price) return null;
  return roundUsd((call.tokens_prompt * price.input_per_1m + call.tokens_output * price.output_per_1m) / 1e6);
}

/** Sums of dollars stay free of float noise (0.1 + 0.2) at a billionth of a dollar. */
export function roundUsd(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}

const price = z
  .object({
    input_per_1m: z.number().finite().min(0),
    output_per_1m: z.number().finite().min(0),
  })
  .strict();
const overrides = z.record(z.string().min(1).max(200), price);

/**
 * The built-in table with `FLOWRUNNER_AI_PRICES` laid over it: a JSON object of model name →
 * `{"input_per_1m": USD, "output_per_1m": USD}` (adds models, or replaces the built-in price of one).
 * A malformed value stops the start with a ConfigurationError naming the variable.
 */
export function pricesFromEnv(value: string | undefined, base: PriceTable = BUILTIN_PRICES): PriceTable {
  const text = value?.trim();
  if (!text) return base;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigurationError('FLOWRUNNER_AI_PRICES must be JSON', {
      details: { variable: 'FLOWRUNNER_AI_PRICES' },
    });
  }
  const parsed = overrides.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigurationError(
      `FLOWRUNNER_AI_PRICES must map model names to {"input_per_1m": USD, "output_per_1m": USD}: ${problems.join('; ')}`,
      { details: { variable: 'FLOWRUNNER_AI_PRICES' } },
    );
  }
  return { version: `${base.version}+config`, models: { ...base.models, ...parsed.data } };
}
