/** CallbackTokens in memory: the same derived tokens, hashes and single use as the DynamoDB store. */

import type { CallbackTarget, CallbackTokenLookup, CallbackTokens } from '../../ports/index.js';
import { type CallbackTokenKey, isLive, newNonce, tokenHash, waitKey } from '../callback-token.js';
import { checkTarget } from '../rules.js';
import { jsonCopy } from './json-copy.js';

interface TokenRecord {
  target: CallbackTarget;
  used_at?: string;
}

export class MemoryCallbackTokens implements CallbackTokens {
  /** Issued tokens by hash; a used one keeps its record (marked) so its link can say so. */
  readonly #tokens = new Map<string, TokenRecord>();
  /** The nonce of the latest (non-personal) token issued for each wait. */
  readonly #waits = new Map<string, { nonce: string; expires_at?: string }>();
  readonly #key: CallbackTokenKey;

  constructor(key: CallbackTokenKey) {
    this.#key = key;
  }

  async issue(target: CallbackTarget, _now: Date): Promise<string> {
    checkTarget(target);
    const nonce = newNonce();
    const token = this.#key.forTarget(target, nonce);
    const hash = tokenHash(token)!;
    // A personal token issued again stays as it is: used stays used.
    if (!this.#tokens.has(hash)) this.#tokens.set(hash, { target: jsonCopy(target) });
    if (target.person !== undefined) return token;
    const wait: { nonce: string; expires_at?: string } = { nonce };
    if (target.expires_at !== undefined) wait.expires_at = target.expires_at;
    this.#waits.set(waitKey(target.run_id, target.step_id, target.visit), wait);
    return token;
  }

  async peek(token: string, now: Date): Promise<CallbackTarget | undefined> {
    const target = this.#live(token, now);
    return target && jsonCopy(target);
  }

  async lookup(token: string, now: Date): Promise<CallbackTokenLookup> {
    const hash = tokenHash(token);
    const record = hash === undefined ? undefined : this.#tokens.get(hash);
    if (!record) return { state: 'unknown' };
    const target = jsonCopy(record.target);
    if (record.used_at !== undefined) return { state: 'used', target, used_at: record.used_at };
    return isLive(target.expires_at, now) ? { state: 'live', target } : { state: 'expired', target };
  }

  async redeem(token: string, now: Date): Promise<CallbackTarget | undefined> {
    const target = this.#live(token, now);
    if (target) this.#tokens.get(tokenHash(token)!)!.used_at = now.toISOString();
    return target && jsonCopy(target);
  }

  async release(token: string, _target: CallbackTarget, usedAt: Date): Promise<void> {
    const hash = tokenHash(token);
    const record = hash === undefined ? undefined : this.#tokens.get(hash);
    if (record?.used_at === usedAt.toISOString()) delete record.used_at;
  }

  async forWait(runId: string, stepId: string, visit: number, now: Date): Promise<string | undefined> {
    const wait = this.#waits.get(waitKey(runId, stepId, visit));
    if (!wait || !isLive(wait.expires_at, now)) return undefined;
    const token = this.#key.token({ run_id: runId, step_id: stepId, visit }, wait.nonce);
    return this.#live(token, now) ? token : undefined;
  }

  #live(token: string, now: Date): CallbackTarget | undefined {
    const hash = tokenHash(token);
    const record = hash === undefined ? undefined : this.#tokens.get(hash);
    if (!record || record.used_at !== undefined) return undefined;
    return isLive(record.target.expires_at, now) ? record.target : undefined;
  }
}
