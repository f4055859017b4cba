/** The linear-time engine of workflow regexes: hostile patterns end at once, meaning is JavaScript's. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileLenientPattern,
  compileLinearRegExp,
  LinearRegexEngine,
  linearRegExpProblem,
  PatternRefused,
} from '../../../shared/json-schema/index.js';

/** Far above what these take (milliseconds), far below what backtracking takes (seconds to years). */
const GENEROUS_MS = 1000;

function timed<T>(run: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = run();
  return { result, ms: performance.now() - start };
}

describe('compileLinearRegExp › hostile patterns', () => {
  // Each took seconds or more on V8's backtracking engine at 30 characters (issue 9: 16.7 s and
  // 12.5 s); the `u` and `i` flags keep V8's linear fallback out. The texts here are far longer.
  it.each([
    ['^(\\p{L}+)+$', 'u', `${'a'.repeat(29)}!`],
    ['^(\\p{L}+)+$', 'u', `${'é'.repeat(100_000)}!`],
    ['^(a+)+$', 'u', `${'a'.repeat(30)}!`],
    ['^(a+)+$', 'u', `${'a'.repeat(100_000)}!`],
    ['^(a+)+$', 'i', `${'A'.repeat(100_000)}!`],
    ['^(a|a)*$', 'u', `${'a'.repeat(100_000)}!`],
    ['^(a|aa)+$', '', `${'a'.repeat(100_000)}!`],
    ['(x+x+)+y', 'u', 'x'.repeat(100_000)],
    ['^(\\w+\\s?)*$', 'u', `${'ab '.repeat(30_000)}!`],
    ['^([a-z0-9]+\\.?)+@', 'iu', `${'a.'.repeat(50_000)}!`],
  ])('runs /%s/%s on %#: no match, in linear time', (pattern, flags, text) => {
    const regexp = compileLinearRegExp(pattern, flags);
    const { result, ms } = timed(() => regexp.test(text));
    expect(result).toBe(false);
    expect(ms).toBeLessThan(GENEROUS_MS);
  });

  it('takes time in proportion to the text, not to the ways of splitting it', () => {
    const regexp = compileLinearRegExp('^(a+)+$', 'u');
    // 30 characters have 2^29 splittings; 300,000 characters are 10,000 times as long.
    const { ms } = timed(() => {
      for (let n = 30; n <= 300_000; n *= 10) regexp.test(`${'a'.repeat(n)}!`);
    });
    expect(ms).toBeLessThan(GENEROUS_MS);
  });
});

describe('compileLinearRegExp › refusals', () => {
  it.each([
    ['^(a)\\1$', 'backreferences need backtracking', "'\\1'"],
    ['^(?<x>a)\\k<x>$', 'backreferences need backtracking', "'\\k<x>'"],
    ['^(?=a)a+$', 'lookahead', "'(?=a)'"],
    ['^(?!a)\\w+$', 'lookahead', "'(?!a)'"],
    ['(?<=a)b', 'lookbehind', "'(?<=a)'"],
    ['(?<!a)b', 'lookbehind', "'(?<!a)'"],
    ['a{1001}', 'repetition counts above 1000', "'a{1001}'"],
    ['\\p{Script_Extensions=Greek}', 'Unicode property', "'\\p{Script_Extensions=Greek}'"],
  ])('refuses /%s/u, saying why and where', (pattern, why, where) => {
    expect(() => compileLinearRegExp(pattern, 'u')).toThrow(PatternRefused);
    const message = linearRegExpProblem(pattern, 'u');
    expect(message).toContain(`/${pattern}/ is not supported by the linear-time regex engine`);
    expect(message).toContain(why);
    expect(message).toContain(`(at ${where})`);
  });

  it('refuses what RE2 finds too large', () => {
    expect(linearRegExpProblem('(a{1000}){1000}', 'u')).toMatch(/too large or complex/);
  });

  it('refuses flags it does not run', () => {
    expect(linearRegExpProblem('a', 'y')).toMatch(/flag 'y' is not supported/);
    expect(linearRegExpProblem('a', 'v')).toMatch(/flag 'v' is not supported/);
  });

  it('throws a SyntaxError, as RegExp does, for what is not a regular expression', () => {
    for (const [pattern, flags] of [
      ['(', 'u'],
      ['[b-a]', ''],
      ['\\_', 'u'],
      ['a**', ''],
    ]) {
      expect(() => new RegExp(pattern!, flags)).toThrow(SyntaxError);
      expect(() => compileLinearRegExp(pattern!, flags)).toThrow(SyntaxError);
      expect(() => compileLinearRegExp(pattern!, flags)).not.toThrow(PatternRefused);
    }
  });
});

describe('compileLinearRegExp › meaning', () => {
  it.each([
    // JavaScript's sets, not RE2's: \s includes Unicode spaces, . stops at every line terminator.
    ['^\\s+$', 'u', '\u00a0\u2028\ufeff\u3000\v', true],
    ['^\\S$', 'u', '\u00a0', false],
    ['^.$', 'u', '\r', false],
    ['^.$', 'u', '\u2028', false],
    ['^.$', 'su', '\n', true],
    ['^.$', 'u', '😀', true],
    ['^[^]$', '', '\n', true],
    ['^[]$', '', '', false],
    ['^\\p{Lu}\\p{Ll}+$', 'u', 'Éléonore', true],
    ['^\\p{Letter}+$', 'u', 'ναι', true],
    ['^\\p{Script=Greek}+$', 'u', 'ναι', true],
    ['^\\P{L}+$', 'u', '123', true],
    ['^\\u{1F600}$', 'u', '😀', true],
    ['^😀$', '', '😀', true],
    ['\\bfoo\\b', 'u', 'a foo.', true],
    ['^[\\w-]+$', 'u', 'a-b_c', true],
    ['^a$', 'm', 'x\na\ny', true],
    ['^abc$', 'i', 'ABC', true],
    ['^\\d{3}-\\d{4}$', 'u', '555-1234', true],
    ['\\d{3}', 'u', 'ref 123 ok', true],
  ])('/%s/%s on %j is %s, as RegExp says', (pattern, flags, text, expected) => {
    expect(new RegExp(pattern, flags).test(text)).toBe(expected);
    expect(compileLinearRegExp(pattern, flags).test(text)).toBe(expected);
  });

  it.each([
    'L',
    'Letter',
    'Lu',
    'Nd',
    'P',
    'C',
    'Zs',
    'Script=Greek',
    'Script=Latin',
    'Any',
    'ASCII',
    'Alphabetic',
    'White_Space',
  ])('reads \\p{%s} as V8 does, over the Basic Multilingual Plane', (property) => {
    const linear = compileLinearRegExp(`^\\p{${property}}$`, 'u');
    const native = new RegExp(`^\\p{${property}}$`, 'u');
    const differ: string[] = [];
    for (let cp = 0; cp <= 0xffff; cp += 3) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const text = String.fromCodePoint(cp);
      if (linear.test(text) !== native.test(text)) differ.push(cp.toString(16));
    }
    expect(differ).toEqual([]);
  });

  /**
   * Small patterns over a small alphabet: every shape of the grammar, nested twice at most, so that
   * V8's backtracking answers at once on 12 characters (deeper ones can take it minutes).
   */
  const atom = fc.constantFrom(
    'a',
    'b',
    'é',
    ' ',
    '.',
    '\\d',
    '\\w',
    '\\s',
    '\\D',
    '\\W',
    '\\S',
    '[ab]',
    '[^a]',
    '[a-c1]',
    '[\\d\\s]',
    '[^\\w]',
    '\\x41',
    '\\u00e9',
    '\\n',
  );
  const assertion = fc.constantFrom('^', '$', '\\b', '\\B');
  const quantifier = fc.constantFrom('', '', '*', '+', '?', '{2}', '{1,3}', '*?', '+?', '??');
  const alternatives = (term: fc.Arbitrary<string>) =>
    fc
      .array(fc.array(term, { maxLength: 3 }), { minLength: 1, maxLength: 3 })
      .map((list) => list.map((terms) => terms.join('')).join('|'));
  const flat = fc.oneof(
    fc.tuple(atom, quantifier).map(([a, q]) => a + q),
    assertion,
  );
  const group = (inner: fc.Arbitrary<string>) =>
    fc
      .tuple(alternatives(inner), fc.boolean(), quantifier)
      .map(([a, capture, q]) => `(${capture ? '' : '?:'}${a})${q}`);
  const nested = fc.oneof(flat, group(flat));
  const alternation = alternatives(fc.oneof(flat, group(nested)));
  const text = fc.string({
    unit: fc.constantFrom('a', 'b', 'c', 'A', 'é', ' ', '\n', '1', '_', '\u00a0', '-'),
    maxLength: 12,
  });
  const flags = fc.constantFrom('', 'u', 'i', 'iu', 'm', 's');

  it('tests like RegExp for any pattern of the grammar', () => {
    fc.assert(
      fc.property(alternation, text, flags, (pattern, input, flag) => {
        expect(compileLinearRegExp(pattern, flag).test(input)).toBe(new RegExp(pattern, flag).test(input));
      }),
      { numRuns: 800 },
    );
  });

  it('finds the first match where RegExp#exec does', () => {
    fc.assert(
      fc.property(alternation, text, flags, (pattern, input, flag) => {
        const native = new RegExp(pattern, `${flag}g`).exec(input);
        const linear = new LinearRegexEngine(new RegExp(pattern, `${flag}g`)).exec(input);
        expect(linear?.index).toBe(native?.index);
        // The same text too, except where a repeated group matches empty: JavaScript ends the
        // repetition there and backtracks (`(a??){1,3}` takes "a"), RE2 keeps the empty match.
        if (!/\)[*+?{]/.test(pattern)) expect(linear?.[0]).toBe(native?.[0]);
      }),
      { numRuns: 800 },
    );
  });
});

describe('LinearRegexEngine (JSONata regex literals)', () => {
  it('walks the matches of a global regex with lastIndex, groups and UTF-16 offsets', () => {
    const engine = new LinearRegexEngine(/(\w)(x)?/g);
    const first = engine.exec('😀ab');
    expect([...first!]).toEqual(['a', 'a', undefined]);
    expect(first!.index).toBe(2);
    expect(engine.lastIndex).toBe(3);
    expect(engine.exec('😀ab')?.[0]).toBe('b');
    expect(engine.exec('😀ab')).toBeNull();
    expect(engine.lastIndex).toBe(0);
  });

  it('refuses a literal that needs backtracking when constructed', () => {
    expect(() => new LinearRegexEngine(/(a)\1/g)).toThrow(PatternRefused);
  });
});

describe('compileLenientPattern (form fields)', () => {
  it('reads a pattern with the u flag where it can', () => {
    expect(compileLenientPattern('^\\p{L}+$').flags).toBe('u');
    expect(compileLenientPattern('^.$').test('😀')).toBe(true);
  });

  it('falls back to the grammar without u for patterns only valid there', () => {
    const pattern = compileLenientPattern('^[a-z\\_\\.]+$');
    expect(pattern.flags).toBe('');
    expect(pattern.test('a_b.c')).toBe(true);
  });

  it('reports the error of the grammar without u when neither reads the pattern', () => {
    expect(() => compileLenientPattern('[')).toThrow(
      new SyntaxError('Invalid regular expression: /[/: Unterminated character class'),
    );
  });

  it('reports a mistake in \\p{…} rather than reading it as letters', () => {
    expect(() => compileLenientPattern('^\\p{Lettr}+$')).toThrow(/\/u: Invalid property name/);
    expect(() => /^p{Lettr}+$/).not.toThrow();
  });

  it('refuses a backreference in either grammar', () => {
    expect(() => compileLenientPattern('^(a)\\1$')).toThrow(PatternRefused);
  });
});
