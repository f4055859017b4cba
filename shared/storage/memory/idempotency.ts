/** IdempotencyKeys in memory: a key holds its first record until it expires. */

import type { IdempotencyKeys, IdempotencyRecord } from '../../ports/index.js';
import { checkIdempotencyRecord } from '../rules.js';
import { jsonCopy } from './json-copy.js';

export class MemoryIdempotencyKeys implements IdempotencyKeys {
  readonly #records = new Map<string, IdempotencyRecord>();

  async find(key: string, now: Date) {
    const held = this.#records.get(key);
    return held && Date.parse(held.expires_at) > now.getTime() ? jsonCopy(held) : undefined;
  }

  async claim(record: IdempotencyRecord, now: Date) {
    checkIdempotencyRecord(record);
    const held = this.#records.get(record.key);
    if (held && Date.parse(held.expires_at) > now.getTime())
      return { created: false, record: jsonCopy(held) };
    this.#records.set(record.key, jsonCopy(record));
    return { created: true, record: jsonCopy(record) };
  }
}
