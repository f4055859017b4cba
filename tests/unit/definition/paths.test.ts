import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPath, parsePath } from '../../../shared/definition/paths.js';

describe('formatPath', () => {
  it('writes keys with dots and indices in brackets', () => {
    expect(formatPath(['steps', 3, 'config', 'fields', 0, 'key'])).toBe('steps[3].config.fields[0].key');
    expect(formatPath(['steps', 0, 'next', 'give-up'])).toBe('steps[0].next.give-up');
  });

  it('quotes keys that would read as something else', () => {
    expect(formatPath(['static', 'two words'])).toBe('static["two words"]');
    expect(formatPath(['headers', 'a.b'])).toBe('headers["a.b"]');
    expect(formatPath([''])).toBe('[""]');
  });

  it('calls the document itself (root)', () => {
    expect(formatPath([])).toBe('(root)');
  });
});

describe('parsePath', () => {
  it('reads back what formatPath wrote', () => {
    const segment = fc.oneof(
      fc.nat({ max: 1000 }),
      fc.string(),
      fc.constantFrom('steps', 'next', 'give-up', '__proto__'),
    );
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 6 }), (path) => {
        expect(parsePath(formatPath(path))).toEqual(path);
      }),
    );
  });

  it('reads the relative paths that step types report', () => {
    expect(parsePath('fields[0].pattern')).toEqual(['fields', 0, 'pattern']);
    expect(parsePath('')).toEqual([]);
  });

  it('reads a key with spaces after a dot as one key', () => {
    expect(parsePath('cases.two words')).toEqual(['cases', 'two words']);
  });

  it('keeps text that is not a path as one key', () => {
    expect(parsePath('fields[x')).toEqual(['fields', '[x']);
  });
});
