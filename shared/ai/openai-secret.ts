/**
 * The OpenAI API key as the cloud keeps it: a Secrets Manager secret (CONTRACT §7, docs/ai.md),
 * named by `FLOWRUNNER_OPENAI_SECRET_ARN` and read once per container by functions/lambda-wiring.ts.
 * The secret holds the key as plain text, or JSON `{"api_key": "sk-..."}` (`OPENAI_API_KEY` is taken
 * too). An error never repeats what the secret holds.
 */
import { ConfigurationError } from '../errors.js';

export function openAiKeyFromSecret(secretString: string | undefined): string {
  const text = secretString?.trim() ?? '';
  let key = text;
  if (text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ConfigurationError('The OpenAI secret looks like JSON but is not valid JSON', {
        details: { variable: 'FLOWRUNNER_OPENAI_SECRET_ARN' },
      });
    }
    const record = parsed as Record<string, unknown>;
    const found = record.api_key ?? record.OPENAI_API_KEY;
    key = typeof found === 'string' ? found.trim() : '';
  }
  if (!key || /\s/.test(key)) {
    throw new ConfigurationError(
      'The OpenAI secret must hold the API key as plain text or as {"api_key": "..."}',
      { details: { variable: 'FLOWRUNNER_OPENAI_SECRET_ARN' } },
    );
  }
  return key;
}
