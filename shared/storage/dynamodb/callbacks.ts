/**
 * CallbackTokens on DynamoDB (tokens table). A token is derived, never stored (callback-token.ts):
 * `token#<sha256>` holds the target and is marked `used_at` by the one redeem whose condition holds,
 * so the first of any number of concurrent redeems wins (and a used link can say so, for 30 days);
 * `wait#<run>#<step>#<visit>` holds the nonce of the wait's latest token, from which `forWait`
 * derives it again. Personal tokens (CONTRACT §8) have no wait item: they are derived from the person.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CallbackTarget, CallbackTokenLookup, CallbackTokens } from '../../ports/index.js';
import {
  type CallbackTokenKey,
  newNonce,
  tokenHash,
  USED_TOKEN_MEMORY_MS,
  waitKey,
} from '../callback-token.js';
import { checkTarget } from '../rules.js';
import { type Item, json, N, optionalString, S, string } from './attributes.js';
import { expiryAttributes, isLiveItem } from './expiry.js';
import { Table } from './table.js';
import { TTL_ATTRIBUTE } from './tables.js';

const tokenKey = (hash: string): Item => ({ pk: S(`token#${hash}`) });
const waitItemKey = (runId: string, stepId: string, visit: number): Item => ({
  pk: S(`wait#${waitKey(runId, stepId, visit)}`),
});

export interface DynamoDbCallbackTokensOptions {
  client: DynamoDBClient;
  table: string;
  key: CallbackTokenKey;
}

export class DynamoDbCallbackTokens implements CallbackTokens {
  readonly #table: Table;
  readonly #key: CallbackTokenKey;

  constructor(options: DynamoDbCallbackTokensOptions) {
    this.#table = new Table(options.client, options.table);
    this.#key = options.key;
  }

  async issue(target: CallbackTarget, _now: Date): Promise<string> {
    checkTarget(target);
    const nonce = newNonce();
    const token = this.#key.forTarget(target, nonce);
    const expiry = expiryAttributes(target.expires_at);
    const key = tokenKey(tokenHash(token)!);
    // A personal token is asked for again on every read of its run by its person (the run view): a
    // read, not a conditional write that fails, once it exists.
    if (target.person !== undefined && (await this.#table.get(key))) return token;
    // The token item first: once the wait item names the nonce, the token must already work. A
    // personal token issued again finds its item and leaves it (a used one stays used).
    await this.#table.put({
      Item: { ...key, target: S(JSON.stringify(target)), ...expiry },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    if (target.person !== undefined) return token;
    await this.#table.put({
      Item: { ...waitItemKey(target.run_id, target.step_id, target.visit), nonce: S(nonce), ...expiry },
    });
    return token;
  }

  async peek(token: string, now: Date): Promise<CallbackTarget | undefined> {
    const hash = tokenHash(token);
    if (hash === undefined) return undefined;
    const item = await this.#table.get(tokenKey(hash));
    return item && isLiveItem(item, now) && !item.used_at ? json<CallbackTarget>(item, 'target') : undefined;
  }

  async lookup(token: string, now: Date): Promise<CallbackTokenLookup> {
    const hash = tokenHash(token);
    const item = hash === undefined ? undefined : await this.#table.get(tokenKey(hash));
    if (!item) return { state: 'unknown' };
    const target = json<CallbackTarget>(item, 'target');
    const usedAt = optionalString(item, 'used_at');
    if (usedAt !== undefined) return { state: 'used', target, used_at: usedAt };
    return isLiveItem(item, now) ? { state: 'live', target } : { state: 'expired', target };
  }

  async redeem(token: string, now: Date): Promise<CallbackTarget | undefined> {
    const hash = tokenHash(token);
    if (hash === undefined) return undefined;
    const { applied, attributes } = await this.#table.update({
      Key: tokenKey(hash),
      UpdateExpression: 'SET used_at = :at, #ttl = :forget',
      ConditionExpression:
        'attribute_exists(pk) AND attribute_not_exists(used_at) AND (attribute_not_exists(expires_ms) OR expires_ms > :now)',
      ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
      ExpressionAttributeValues: {
        ':now': N(now.getTime()),
        ':at': S(now.toISOString()),
        ':forget': N(Math.ceil((now.getTime() + USED_TOKEN_MEMORY_MS) / 1000)),
      },
      ReturnValues: 'ALL_OLD',
    });
    return applied && attributes ? json<CallbackTarget>(attributes, 'target') : undefined;
  }

  async release(token: string, target: CallbackTarget, usedAt: Date): Promise<void> {
    const hash = tokenHash(token);
    if (hash === undefined) return;
    // Its expiry as issued: redeem set the TTL to forget the used token after 30 days.
    const ttl = expiryAttributes(target.expires_at)[TTL_ATTRIBUTE];
    await this.#table.update({
      Key: tokenKey(hash),
      UpdateExpression: ttl ? 'SET #ttl = :ttl REMOVE used_at' : 'REMOVE used_at, #ttl',
      ConditionExpression: 'used_at = :at',
      ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
      ExpressionAttributeValues: { ':at': S(usedAt.toISOString()), ...(ttl ? { ':ttl': ttl } : {}) },
    });
  }

  async forWait(runId: string, stepId: string, visit: number, now: Date): Promise<string | undefined> {
    const wait = await this.#table.get(waitItemKey(runId, stepId, visit));
    if (!wait || !isLiveItem(wait, now)) return undefined;
    const token = this.#key.token({ run_id: runId, step_id: stepId, visit }, string(wait, 'nonce'));
    // Used (deleted) or expired tokens are not shown again.
    return (await this.peek(token, now)) ? token : undefined;
  }
}
