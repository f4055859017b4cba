/** What a secret may be called, checked the same way by every SecretSource before it looks anywhere. */
import { ConfigurationError } from '../errors.js';

/**
 * Letters, digits, `_`, `-` and `.`: valid in Secrets Manager ids and JSONata names alike, and
 * mappable onto an environment variable (`-` and `.` become `_`). No `/`, so a name stays under
 * its prefix.
 */
const SECRET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function checkSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw new ConfigurationError(
      `secret name ${JSON.stringify(name)} is not valid: use up to 128 letters, digits, '_', '-' and '.'`,
      { code: 'SecretNotFound', details: { secret: name } },
    );
  }
}
