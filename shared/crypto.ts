/** Hashing helpers shared by the API, the local server and the stores. */
import { createHash } from 'node:crypto';

/** The SHA-256 digest of `value` (UTF-8 for a string) as 64 lower-case hex characters. */
export function sha256Hex(value: string | Uint8Array): string {
  return createHash('sha256').update(value).digest('hex');
}
