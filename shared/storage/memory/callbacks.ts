/** CallbackTokens in memory: the same derived tokens, hashes and single use as the DynamoDB store. */

import type { CallbackTarget, CallbackTokens } from '../../ports/index.js';
import { type CallbackTokenKey, isLive, newNonce, tokenHash, waitKey } from '../callback-token.js';
import { checkTarget } from '../rules.js';
import { jsonCopy } from './json-copy.js';

export class MemoryCallbackTokens implements CallbackTokens {
  /** Live, unused tokens by hash. */
  readonly #tokens = new Map<string, CallbackTarget>();
  /** The nonce of the latest token issued for each wait. */
  readonly #waits = new Map<string, { nonce: string; expires_at?: string }>();
  readonly #key: CallbackTokenKey;

  constructor(key: CallbackTokenKey) {
    this.#key = key;
  }

  async issue(target: CallbackTarget, _now: Date): Promise<string> {
    checkTarget(target);
    const nonce = newNonce();
    const token = this.#key.token(target, nonce);
    this.#tokens.set(tokenHash(token)!, jsonCopy(target));
    const wait: { nonce: string; expires_at?: string } = { nonce };
    if (target.expires_at !== undefined) wait.expires_at = target.expires_at;
    this.#waits.set(waitKey(target.run_id, target.step_id, target.visit), wait);
    return token;
  }

  async peek(token: string, now: Date): Promise<CallbackTarget | undefined> {
    const target = this.#live(token, now);
    return target && jsonCopy(target);
  }

  async redeem(token: string, now: Date): Promise<CallbackTarget | undefined> {
    const target = this.#live(token, now);
    if (target) this.#tokens.delete(tokenHash(token)!);
    return target;
  }

  async forWait(runId: string, stepId: string, visit: number, now: Date): Promise<string | undefined> {
    const wait = this.#waits.get(waitKey(runId, stepId, visit));
    if (!wait || !isLive(wait.expires_at, now)) return undefined;
    const token = this.#key.token({ run_id: runId, step_id: stepId, visit }, wait.nonce);
    return this.#live(token, now) ? token : undefined;
  }

  #live(token: string, now: Date): CallbackTarget | undefined {
    const hash = tokenHash(token);
    const target = hash === undefined ? undefined : this.#tokens.get(hash);
    return target && isLive(target.expires_at, now) ? target : undefined;
  }
}
