/** The compile cache: an expression is parsed once, and the cache keeps the 1,000 most recently used. */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { checkExpression, evaluate, expressionCacheSize } from '../../../shared/expressions/index.js';

/** Every expression jsonata is asked to parse, in order. */
const parsed = vi.hoisted(() => [] as string[]);

vi.mock('jsonata', async (importOriginal) => {
  const original = ((await importOriginal()) as { default: (expression: string) => unknown }).default;
  return {
    default: (expression: string) => {
      parsed.push(expression);
      return original(expression);
    },
  };
});

const parsesOf = (expression: string) => parsed.filter((text) => text === expression).length;

beforeEach(() => {
  parsed.length = 0;
});

describe('the compile cache', () => {
  it('parses an expression once, however often it is evaluated', async () => {
    const before = expressionCacheSize();
    for (let n = 0; n < 5; n++) expect(await evaluate('inputs.n * 2', { inputs: { n } })).toBe(n * 2);
    expect(parsesOf('inputs.n * 2')).toBe(1);
    expect(expressionCacheSize()).toBe(before + 1);
  });

  it('shares the parse with checkExpression', async () => {
    expect(checkExpression('inputs.m + 7')).toBeUndefined();
    expect(await evaluate('inputs.m + 7', { inputs: { m: 1 } })).toBe(8);
    expect(parsesOf('inputs.m + 7')).toBe(1);
  });

  it('parses again only for evaluations that run at the same time', async () => {
    const results = await Promise.all([1, 2, 3].map((m) => evaluate('$sum([1..m])', { m })));
    expect(results).toEqual([1, 3, 6]);
    expect(parsesOf('$sum([1..m])')).toBe(3);
    await evaluate('$sum([1..m])', { m: 4 });
    expect(parsesOf('$sum([1..m])')).toBe(3);
  });

  it('keeps no JSONata instance for an expression the fast path answers until JSONata is needed', async () => {
    // An instance is ~19 KB against ~0.5 KB for the rest of a compiled expression: a 1,000-step
    // workflow held ~19 MB of instances its runs never used.
    for (let k = 0; k < 3; k++) expect(await evaluate('inputs.k + 1', { inputs: { k } })).toBe(k + 1);
    expect(parsesOf('inputs.k + 1')).toBe(1);
    // Text is for JSONata to refuse: parsed again the first time, and kept from then on.
    for (let i = 0; i < 3; i++) {
      await expect(evaluate('inputs.k + 1', { inputs: { k: 'x' } })).rejects.toThrow(
        /must evaluate to a number/,
      );
    }
    expect(parsesOf('inputs.k + 1')).toBe(2);
  });

  it('does not keep expressions that do not parse', async () => {
    const before = expressionCacheSize();
    await expect(evaluate('inputs.n +* 1', {})).rejects.toThrow(/Syntax error/);
    expect(expressionCacheSize()).toBe(before);
  });

  it('keeps at most 1,000 expressions and evicts the least recently used', async () => {
    await evaluate('"kept because used"', {});
    await evaluate('"evicted because idle"', {});
    for (let i = 0; i < 998; i++) {
      await evaluate(`${i} + 0.5`, {});
      if (i === 500) await evaluate('"kept because used"', {});
    }
    await evaluate('"one more"', {});
    expect(expressionCacheSize()).toBe(1000);

    await evaluate('"kept because used"', {});
    await evaluate('"evicted because idle"', {});
    expect(parsesOf('"kept because used"')).toBe(1);
    expect(parsesOf('"evicted because idle"')).toBe(2);
  });
});
