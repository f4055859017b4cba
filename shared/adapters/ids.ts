/** Identifiers: random and unguessable in production, sequential and readable in tests. */
import { randomBytes } from 'node:crypto';
import type { Ids } from '../ports/index.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/** `<prefix>_<time><random>`: sortable by creation time, 80 random bits after the time. */
export const randomIds: Ids = {
  next(prefix) {
    let time = Date.now();
    let head = '';
    for (let i = 0; i < 9; i++) {
      head = ALPHABET[time % 32]! + head;
      time = Math.floor(time / 32);
    }
    const bytes = randomBytes(10);
    let tail = '';
    for (const byte of bytes) tail += ALPHABET[byte % 32]!;
    return `${prefix}_${head}${tail}`;
  },
};

/** `run_1`, `run_2`, … per prefix: deterministic ids for tests and benchmarks. */
export function sequentialIds(): Ids {
  const counters = new Map<string, number>();
  return {
    next(prefix) {
      const n = (counters.get(prefix) ?? 0) + 1;
      counters.set(prefix, n);
      return `${prefix}_${n}`;
    },
  };
}
