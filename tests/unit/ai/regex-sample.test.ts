import { describe, expect, it } from 'vitest';
import { sampleRegex } from '../../../shared/ai/regex-sample.js';
import { mulberry32 } from '../../../shared/ai/schema-sample.js';

describe('sampleRegex', () => {
  it.each([
    '^[^@\\s]+@[^@\\s]+$',
    '^[A-Z]{2}\\d{4}$',
    '^\\+?[0-9]{7,15}$',
    '^(?:red|green|blue)$',
    '^[a-z0-9_-]{3,16}$',
    '^\\d{4}-\\d{2}-\\d{2}$',
    '^(?<area>\\d{3})-\\d{4}$',
    'abc',
    '^[\\w.]+\\.(com|org)$',
    '^\\u00e9t\\x65$',
    '^.{2,5}$',
    '^[^a-z]*$',
  ])('makes a string that %s matches', (pattern) => {
    const random = mulberry32(7);
    for (let i = 0; i < 20; i++) {
      const text = sampleRegex(pattern, random);
      expect(text).toBeDefined();
      expect(new RegExp(pattern, 'u').test(text!)).toBe(true);
    }
  });

  it('makes the same string from the same seed', () => {
    expect(sampleRegex('^[a-z]{5,9}\\d+$', mulberry32(1))).toBe(
      sampleRegex('^[a-z]{5,9}\\d+$', mulberry32(1)),
    );
  });

  it.each(['^(?=a)a$', '(a)\\1', '\\bword\\b', '\\p{L}+', '('])('gives up on %s', (pattern) => {
    expect(sampleRegex(pattern, mulberry32(1))).toBeUndefined();
  });
});
