import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { conditional, isTruthy } from '../../../shared/steps/conditional.js';
import { execute } from './context.js';

const order = { context: { inputs: { total: 120, country: 'NL', tags: [] } } };

describe('conditional.execute', () => {
  it.each([
    ['inputs.total > 100', 'true'],
    ['inputs.total > 1000', 'false'],
    ['inputs.missing', 'false'],
    ['inputs.tags', 'false'],
    ['inputs.country', 'true'],
  ])('takes `when: %s` as %s', async (when, outcome) => {
    const { result } = await execute(conditional, { when }, order);
    expect(result).toEqual({ status: 'completed', outcome, output: { outcome } });
  });

  it('takes the first true case in written order', async () => {
    const cases = { big: 'inputs.total > 100', eu: "inputs.country = 'NL'", small: 'inputs.total <= 100' };
    const { result } = await execute(conditional, { cases }, order);
    expect(result).toMatchObject({ outcome: 'big', output: { outcome: 'big' } });
  });

  it('takes default when no case is true', async () => {
    const { result } = await execute(conditional, { cases: { huge: 'inputs.total > 1000' } }, order);
    expect(result).toMatchObject({ outcome: 'default' });
  });

  it('does not evaluate the cases after the first true one', async () => {
    const cases = { first: 'true', broken: '$undefinedFunction(' };
    const { result } = await execute(conditional, { cases }, order);
    expect(result).toMatchObject({ outcome: 'first' });
  });

  it('fails without retry when an expression fails', async () => {
    await expect(execute(conditional, { when: '$undefinedFunction(' }, order)).rejects.toMatchObject({
      retryable: false,
    });
  });
});

describe('conditional truthiness', () => {
  it.each([
    [false, false],
    [undefined, false],
    [null, false],
    [0, false],
    ['', false],
    [[], false],
    [{}, false],
    [[0, ''], false],
    [true, true],
    [1, true],
    ['no', true],
    [[0, 1], true],
    [{ a: 0 }, true],
  ])('counts %o as %s', (value, expected) => {
    expect(isTruthy(value)).toBe(expected);
  });

  it("agrees with JSONata's $boolean on JSON values", async () => {
    const boolean = jsonata('$boolean(v)');
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        const cast = (await boolean.evaluate({ v: value })) as boolean | undefined;
        expect(isTruthy(value)).toBe(cast ?? false);
      }),
    );
  });
});

describe('conditional.check', () => {
  it('reports whole-number case names, whose written order JavaScript objects lose', () => {
    const config = conditional.config.parse({ cases: { b: 'true', '1': 'false' } });
    expect(conditional.check!(config)).toMatchObject([{ path: 'cases.1' }]);
  });

  it('accepts named cases and `when`', () => {
    expect(
      conditional.check!(conditional.config.parse({ cases: { tier_1: 'true', tier_2: 'false' } })),
    ).toEqual([]);
    expect(conditional.check!(conditional.config.parse({ when: 'true' }))).toEqual([]);
  });
});
