import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';

const codec = new CursorCodec('a-cursor-key-of-enough-length');
const scopes = fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 4 });
const positions = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.oneof(fc.string({ maxLength: 40 }), fc.integer()),
  {
    maxKeys: 3,
  },
);

function refused(run: () => unknown): boolean {
  try {
    run();
  } catch (error) {
    return error instanceof ValidationError;
  }
  return false;
}

describe('CursorCodec', () => {
  it('gives back the position it signed, for the same scope', () => {
    fc.assert(
      fc.property(scopes, positions, (scope, position) => {
        expect(codec.decode(scope, codec.encode(scope, position))).toEqual(position);
      }),
    );
  });

  it('refuses a cursor under any other scope', () => {
    fc.assert(
      fc.property(scopes, scopes, positions, (scope, other, position) => {
        fc.pre(JSON.stringify(scope) !== JSON.stringify(other));
        expect(refused(() => codec.decode(other, codec.encode(scope, position)))).toBe(true);
      }),
    );
  });

  it('refuses a cursor with any one character changed', () => {
    fc.assert(
      fc.property(
        positions,
        fc.nat(),
        fc.constantFrom('A', 'b', '0', '_', '-', '.'),
        (position, at, char) => {
          const cursor = codec.encode(['runs'], position);
          const i = at % cursor.length;
          fc.pre(cursor[i] !== char);
          const changed = cursor.slice(0, i) + char + cursor.slice(i + 1);
          expect(refused(() => codec.decode(['runs'], changed))).toBe(true);
        },
      ),
    );
  });

  it('refuses a cursor signed with another key', () => {
    const other = new CursorCodec('another-cursor-key-entirely');
    expect(refused(() => codec.decode(['runs'], other.encode(['runs'], { before: 'x' })))).toBe(true);
  });

  it('refuses garbage and overlong input without trying to parse it', () => {
    for (const cursor of ['', '.', 'abc', 'a.b.c', `${'a'.repeat(3000)}.b`]) {
      expect(refused(() => codec.decode(['runs'], cursor))).toBe(true);
    }
  });

  it('refuses a key too short to keep cursors unforgeable', () => {
    expect(() => new CursorCodec('short')).toThrow(RangeError);
  });
});
