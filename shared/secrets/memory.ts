/** A SecretSource over a fixed map: for tests and the harness. */
import { ConfigurationError } from '../errors.js';
import type { SecretSource } from '../ports/index.js';

export function createMemorySecrets(secrets: Record<string, string> = {}): SecretSource {
  const values = new Map(Object.entries(secrets));
  return {
    async get(name) {
      const value = values.get(name);
      if (value === undefined) {
        throw new ConfigurationError(`Secret '${name}' is not defined`, {
          code: 'SecretNotFound',
          details: { secret: name },
        });
      }
      return value;
    },
  };
}
