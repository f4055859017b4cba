import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import type { AstNode } from '../../../shared/expressions/compile.js';
import { answer, fastPath, SLOW } from '../../../shared/expressions/fast-path.js';

/** The fast path of an expression as a function of the data, or undefined when it has none. */
const fast = (expression: string) => {
  const compiled = fastPath(jsonata(expression).ast() as unknown as AstNode);
  return compiled && ((data: unknown) => answer(compiled, data));
};

/** JSONata's own answer: a value, or 'error' when it throws. */
async function reference(expression: string, data: unknown): Promise<unknown> {
  try {
    return await jsonata(expression).evaluate(data);
  } catch {
    return 'error';
  }
}

const name = fc.constantFrom('a', 'b', 'n', 's', 'missing');
const path = fc.array(name, { minLength: 1, maxLength: 3 }).map((names) => names.join('.'));
const literal = fc.oneof(
  fc.integer({ min: -50, max: 50 }).map(String),
  fc.constantFrom('0.5', '"x"', "'y'", '""'),
);
const operand = fc.oneof({ weight: 3, arbitrary: path }, { weight: 1, arbitrary: literal });
const operator = fc.constantFrom('+', '-', '*', '/', '%', '&', '=', '!=', '<', '<=', '>', '>=');
const expression: fc.Arbitrary<string> = fc.letrec((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    operand,
    fc
      .tuple(tie('expr') as fc.Arbitrary<string>, operator, tie('expr') as fc.Arbitrary<string>)
      .map(([l, op, r]) => `(${l} ${op} ${r})`),
  ),
})).expr;

const leaf = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true, min: -1e3, max: 1e3 }),
  fc.string({ maxLength: 3 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
);
const data = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.dictionary(fc.constantFrom('a', 'b', 'n', 's'), tie('node'), { maxKeys: 4 }),
  ),
})).node;

describe('the expression fast path', () => {
  it('answers exactly what JSONata answers, or leaves the expression to JSONata', async () => {
    await fc.assert(
      fc.asyncProperty(
        expression,
        fc.dictionary(fc.constantFrom('a', 'b', 'n', 's'), data),
        async (expr, input) => {
          const closure = fast(expr);
          if (!closure) return;
          const result = closure(input);
          if (result === SLOW) return;
          expect(result).toEqual(await reference(expr, input));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('covers the common shapes of placeholders', () => {
    const data = { steps: { a: { output: { n: 2, s: 'x' } } }, inputs: { name: 'Ada' } };
    expect(fast('steps.a.output.n + 1')?.(data)).toBe(3);
    expect(fast('inputs.name')?.(data)).toBe('Ada');
    expect(fast("'Dear ' & inputs.name")?.(data)).toBe('Dear Ada');
    expect(fast('steps.a.output.n >= 2')?.(data)).toBe(true);
    expect(fast('inputs.missing')?.(data)).toBeUndefined();
  });

  it('leaves objects, arrays, functions and filters to JSONata', () => {
    const data = { steps: { a: { output: { list: [1, 2], obj: { x: 1 } } } } };
    expect(fast('steps.a.output.obj')?.(data)).toBe(SLOW);
    expect(fast('steps.a.output.list')?.(data)).toBe(SLOW);
    expect(fast('steps.a.output.list.x')?.(data)).toBe(SLOW);
    expect(fast('$sum(steps.a.output.list)')).toBeUndefined();
    expect(fast('steps.a.output.list[0]')).toBeUndefined();
    expect(fast('1 / 0')?.({})).toBe(SLOW);
  });
});
