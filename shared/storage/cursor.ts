/**
 * Opaque page cursors shared by every store: a JSON position signed with HMAC-SHA256 together with
 * the query it belongs to, so a client can neither forge a position nor replay the cursor of one
 * run or query against another. The in-memory and DynamoDB adapters use the same positions, so a
 * cursor means the same thing on both.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { type ErrorIssue, ValidationError } from '../errors.js';

/** Longer cursors are refused before any work: no position of ours comes near this. */
const MAX_CURSOR_LENGTH = 2048;

export type CursorPosition = Record<string, string | number>;

/** Signs and checks cursors; `scope` names the query (its kind and every filter), never the position. */
export class CursorCodec {
  readonly #key: Buffer;

  /** `key` is the configured cursor secret (at least 16 bytes); it may be shared with other uses. */
  constructor(key: string | Uint8Array) {
    const raw = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
    // A short key could be guessed, and then cursors forged.
    if (raw.length < 16) throw new RangeError('the cursor key must be at least 16 bytes');
    // Domain separation: the same secret may also sign other things without one standing for the other.
    this.#key = createHmac('sha256', raw).update('flowrunner/storage-cursor/v1').digest();
  }

  encode(scope: readonly unknown[], position: CursorPosition): string {
    const payload = Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
    return `${payload}.${this.#sign(scope, payload).toString('base64url')}`;
  }

  /**
   * The position a `next_cursor` of the same query stands for; ValidationError otherwise, with
   * `issue`: by default about `cursor`, the parameter most lists take it in.
   */
  decode(
    scope: readonly unknown[],
    cursor: string,
    issue: ErrorIssue = { path: 'cursor', message: 'not a cursor returned by this query' },
  ): CursorPosition {
    if (typeof cursor === 'string' && cursor.length <= MAX_CURSOR_LENGTH) {
      const [payload, signature, extra] = cursor.split('.');
      if (payload && signature && extra === undefined) {
        // Compared as text: base64url can spell the same bytes in more than one way, a cursor only in ours.
        const expected = Buffer.from(this.#sign(scope, payload).toString('base64url'));
        const given = Buffer.from(signature);
        if (given.length === expected.length && timingSafeEqual(given, expected)) {
          const position: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
          if (typeof position === 'object' && position !== null && !Array.isArray(position)) {
            return position as CursorPosition;
          }
        }
      }
    }
    throw new ValidationError('The cursor is not valid for this list', [issue]);
  }

  #sign(scope: readonly unknown[], payload: string): Buffer {
    return createHmac('sha256', this.#key)
      .update(`${JSON.stringify(scope)}\n${payload}`)
      .digest();
  }
}

/** Reads a string field of a decoded position; a signed cursor always has it, so absence means misuse. */
export function positionString(position: CursorPosition, field: string): string {
  const value = position[field];
  if (typeof value !== 'string') throw new ValidationError('The cursor is not valid for this list');
  return value;
}

export function positionNumber(position: CursorPosition, field: string): number {
  const value = position[field];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new ValidationError('The cursor is not valid for this list');
  }
  return value;
}
