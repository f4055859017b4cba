/**
 * Callback tokens without storing them: a token is HMAC-SHA256(token key, wait + random nonce).
 * The stores keep only its SHA-256 (to find and use it) and the nonce (so `forWait` can derive it
 * again for `waiting[].callback_token`); reading the tables alone never yields a usable token.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { CallbackTarget } from '../ports/index.js';

/** 32 bytes in base64url, as every token is; anything else is refused before a lookup. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export class CallbackTokenKey {
  readonly #key: Buffer;

  /** `key` is the configured token secret (at least 16 bytes); it may be shared with other uses. */
  constructor(key: string | Uint8Array) {
    const raw = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    if (raw.length < 16) throw new RangeError('the callback token key must be at least 16 bytes');
    // Domain separation: the same secret may also sign cursors without one standing for the other.
    this.#key = createHmac('sha256', raw).update('flowrunner/callback-token/v1').digest();
  }

  /** The token of one issue for a wait: 256 bits that only the key holder can compute. */
  token(target: Pick<CallbackTarget, 'run_id' | 'step_id' | 'visit'>, nonce: string): string {
    return createHmac('sha256', this.#key)
      .update(JSON.stringify([target.run_id, target.step_id, target.visit, nonce]))
      .digest('base64url');
  }

  /**
   * A person's token for a wait: the same every time it is derived (no nonce), so a notification
   * sent again carries the same link, and the link is never stored anywhere.
   */
  personal(target: Pick<CallbackTarget, 'run_id' | 'step_id' | 'visit'>, person: string): string {
    return createHmac('sha256', this.#key)
      .update(JSON.stringify(['person', target.run_id, target.step_id, target.visit, personKey(person)]))
      .digest('base64url');
  }

  /** The token for a target: personal when it names a person, else from the nonce. */
  forTarget(target: CallbackTarget, nonce: string): string {
    return target.person === undefined ? this.token(target, nonce) : this.personal(target, target.person);
  }
}

export function newNonce(): string {
  return randomBytes(16).toString('base64url');
}

/** What the stores index a token by; undefined for a string that cannot be a token. */
export function tokenHash(token: string): string | undefined {
  if (typeof token !== 'string' || !TOKEN_SHAPE.test(token)) return undefined;
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A wait's identity; step ids cannot hold `#` and visits are numbers, so it reads back unambiguously. */
export function waitKey(runId: string, stepId: string, visit: number): string {
  return `${runId}#${stepId}#${visit}`;
}

/** People are named by address: one spelling, whatever the case it was written in. */
export function personKey(person: string): string {
  return person.trim().toLowerCase();
}

/** How long a used token is remembered, so its link can say it was used (then it reads as unknown). */
export const USED_TOKEN_MEMORY_MS = 30 * 86_400_000;

/** Expired at `expires_at` itself; no `expires_at` means no expiry. */
export function isLive(expiresAt: string | undefined, now: Date): boolean {
  return expiresAt === undefined || Date.parse(expiresAt) > now.getTime();
}
