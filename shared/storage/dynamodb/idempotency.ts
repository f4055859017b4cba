/**
 * IdempotencyKeys on DynamoDB (tokens table, `idem#<sha256 of the key>`: a fixed size whatever the
 * client sent): a conditional put takes a key that is free or expired, so of concurrent claims
 * exactly one creates; the others read the record that holds.
 */
import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConflictError } from '../../errors.js';
import type { IdempotencyKeys, IdempotencyRecord } from '../../ports/index.js';
import { checkIdempotencyRecord } from '../rules.js';
import { type Item, json, N, S } from './attributes.js';
import { expiryAttributes, isLiveItem } from './expiry.js';
import { Table } from './table.js';

/** A claim loses only to a live record; if that one expires before it is read, the claim tries again. */
const MAX_CLAIM_ATTEMPTS = 3;

const recordKey = (key: string): Item => ({
  pk: S(`idem#${createHash('sha256').update(key, 'utf8').digest('hex')}`),
});

export interface DynamoDbIdempotencyKeysOptions {
  client: DynamoDBClient;
  table: string;
}

export class DynamoDbIdempotencyKeys implements IdempotencyKeys {
  readonly #table: Table;

  constructor(options: DynamoDbIdempotencyKeysOptions) {
    this.#table = new Table(options.client, options.table);
  }

  async find(key: string, now: Date): Promise<IdempotencyRecord | undefined> {
    const held = await this.#table.get(recordKey(key));
    return held && isLiveItem(held, now) ? json<IdempotencyRecord>(held, 'record') : undefined;
  }

  async claim(
    record: IdempotencyRecord,
    now: Date,
  ): Promise<{ created: boolean; record: IdempotencyRecord }> {
    checkIdempotencyRecord(record);
    const stored = JSON.stringify(record);
    for (let attempt = 1; attempt <= MAX_CLAIM_ATTEMPTS; attempt++) {
      const { applied } = await this.#table.put({
        Item: { ...recordKey(record.key), record: S(stored), ...expiryAttributes(record.expires_at) },
        ConditionExpression: 'attribute_not_exists(pk) OR expires_ms <= :now',
        ExpressionAttributeValues: { ':now': N(now.getTime()) },
      });
      if (applied) return { created: true, record: JSON.parse(stored) as IdempotencyRecord };
      const held = await this.#table.get(recordKey(record.key));
      if (held && isLiveItem(held, now))
        return { created: false, record: json<IdempotencyRecord>(held, 'record') };
    }
    throw new ConflictError(`The idempotency key '${record.key}' keeps changing; try again`, {
      retryable: true,
    });
  }
}
