/**
 * Expiry of items: `expires_at` in epoch seconds for DynamoDB's TTL (which deletes late, and not at
 * all on the emulators) and `expires_ms` for exact checks in conditions and reads.
 */
import type { Item } from './attributes.js';
import { N, optionalNumber } from './attributes.js';
import { TTL_ATTRIBUTE } from './tables.js';

export function expiryAttributes(expiresAt: string | undefined): Item {
  if (expiresAt === undefined) return {};
  const ms = Date.parse(expiresAt);
  // Rounded up: TTL must never delete an item before it expired.
  return { expires_ms: N(ms), [TTL_ATTRIBUTE]: N(Math.ceil(ms / 1000)) };
}

export function isLiveItem(item: Item, now: Date): boolean {
  const ms = optionalNumber(item, 'expires_ms');
  return ms === undefined || ms > now.getTime();
}
