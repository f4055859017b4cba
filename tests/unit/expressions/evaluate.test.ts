/** Evaluating JSONata: results as plain JSON, errors as ExpressionErrors with positions, syntax checks. */
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../shared/errors.js';
import { checkExpression, evaluate, referencesSecrets } from '../../../shared/expressions/index.js';
import { failure as failed } from '../../support/failure.js';

const data = {
  inputs: {
    customer: 'Ann',
    tags: ['a', 'b'],
    n: 3,
    nested: { deep: { value: 1, list: [{ k: 1 }, { k: 2 }] } },
  },
  Account: {
    'Account Name': 'Firefly',
    Order: [
      {
        OrderID: 'o1',
        Product: [
          { Name: 'Hat', Price: 34.45, Quantity: 2, Description: { Colour: 'Purple' } },
          { Name: 'Shoe', Price: 21.67, Quantity: 1 },
        ],
      },
      { OrderID: 'o2', Product: [{ Name: 'Bag', Price: 107.99, Quantity: 1 }] },
    ],
  },
  library: {
    loans: [
      { isbn: 1, who: 'a' },
      { isbn: 2, who: 'b' },
    ],
    books: [
      { isbn: 2, title: 'T2' },
      { isbn: 1, title: 'T1' },
    ],
  },
  steps: {
    a: {
      status: 'completed',
      visit: 1,
      output: {
        n: 41,
        items: [
          { id: 'x', v: 1 },
          { id: 'y', v: 2 },
          { id: 'x', v: 3 },
        ],
      },
    },
  },
};

/** The ExpressionError an evaluation fails with. */
const failure = (promise: Promise<unknown>) => failed(promise, ExpressionError);

describe('evaluate', () => {
  it('evaluates a path expression against the data', async () => {
    expect(await evaluate('steps.a.output.n + 1', data)).toBe(42);
  });

  it('returns undefined for a path to a missing field', async () => {
    expect(await evaluate('steps.nope.output.x', data)).toBeUndefined();
    expect(await evaluate('inputs.missing', data)).toBeUndefined();
  });

  it('returns plain JSON: sequences become ordinary arrays, data becomes a copy', async () => {
    const items = await evaluate('steps.a.output.items[v > 1]', data);
    expect(items).toEqual([
      { id: 'y', v: 2 },
      { id: 'x', v: 3 },
    ]);
    expect(Object.keys(items as object)).toEqual(['0', '1']);
    const nested = (await evaluate('inputs.nested', data)) as { deep: { value: number } };
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    nested.deep.value = 99;
    expect(data.inputs.nested.deep.value).toBe(1);
  });

  it('refuses a result that is a function, with ExpressionResultNotJson', async () => {
    for (const expression of ['function($x){ $x }', '$sum', '/abc/', '{"f": $uppercase}']) {
      const error = await failure(evaluate(expression, data));
      expect(error.code).toBe('ExpressionResultNotJson');
      expect(error.message).toMatch(/returned a function, which is not JSON data/);
    }
  });

  it('drops undefined from objects, as JSON does', async () => {
    expect(await evaluate('{"a": inputs.missing, "b": 1}', data)).toEqual({ b: 1 });
  });

  it.each([
    '$keys(inputs)',
    '$spread(inputs.nested)',
    '$each(inputs, function($v, $k){ $k })',
    '$sift(inputs, function($v){ $type($v) = "string" })',
    '$merge([inputs.nested, {"extra": 1}])',
    '$string(inputs.nested)',
    'inputs ~> | nested.deep | {"value": 2} |',
    'Account.Order.Product^(>Price).Name',
    'steps.a.output.items{ id: $sum(v) }',
    'inputs.*',
    '**.k',
    'Account.Order.Product.{"o": %.OrderID, "p": Name}',
    'library.loans@$l.books@$b[$l.isbn = $b.isbn].{"who": $l.who, "title": $b.title}',
    'Account.Order#$i.{"i": $i, "id": OrderID}',
    '$distinct(steps.a.output.items.id)',
    'inputs.nested = inputs.nested',
    '$lookup(inputs.nested.deep, "value")',
    '$sum(Account.Order.Product.(Price * Quantity))',
    'steps.a.output.items[id = "x"].v',
    '[inputs, {"n": inputs.n}]',
    '$sort(steps.a.output.items, function($l, $r){ $l.v < $r.v })',
    '$reduce(steps.a.output.items.v, function($a, $b){ $a + $b })',
    '$eval("inputs.n + 1")',
    '$$.inputs.customer',
    'Account.`Account Name`',
    '$formatNumber(1234.5, "#,##0.00")',
    '$pad("ab", -5, "-")',
  ])('gives the same result as plain jsonata for %s', async (expression) => {
    const expected = await jsonata(expression).evaluate(structuredClone(data));
    expect(expected).toBeDefined();
    expect(await evaluate(expression, data)).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it('turns a jsonata error into ExpressionError with the expression, the position and the jsonata code', async () => {
    const error = await failure(evaluate('inputs.n + "x"', data));
    expect(error.code).toBe('ExpressionError');
    expect(error.expression).toBe('inputs.n + "x"');
    expect(error.message).toBe(
      'Expression `inputs.n + "x"` failed at position 10: The right side of the "+" operator must evaluate to a number (T2002)',
    );
    expect(error.details).toEqual({ jsonata_code: 'T2002', position: 10 });
    expect(error.retryable).toBe(false);
  });

  it('reports $error() messages from the expression', async () => {
    const error = await failure(evaluate('$error("custom failure")', data));
    expect(error.message).toMatch(/custom failure \(D3137\)/);
  });

  it('turns a syntax error into ExpressionSyntaxError with the position', async () => {
    const error = await failure(evaluate('inputs.a +', data));
    expect(error.code).toBe('ExpressionSyntaxError');
    expect(error.message).toBe(
      'Syntax error in `inputs.a +` at position 10: Unexpected end of expression (S0207)',
    );
    expect(error.details).toEqual({ position: 10, jsonata_code: 'S0207' });
  });

  it('refuses an empty expression as a syntax error', async () => {
    expect((await failure(evaluate('  ', data))).code).toBe('ExpressionSyntaxError');
  });

  it('shortens a long expression in messages but keeps it whole on the error', async () => {
    const expression = `${'inputs.n + '.repeat(30)}"x"`;
    const error = await failure(evaluate(expression, data));
    expect(error.expression).toBe(expression);
    expect(error.message).toContain('...`');
    expect(error.message.length).toBeLessThan(300);
  });

  it('evaluates the same expression concurrently without mixing up the evaluations', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => evaluate('$sum([1..m]) & "/" & m', { m: n + 1 })),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, n) => `${((n + 1) * (n + 2)) / 2}/${n + 1}`));
  });
});

describe('checkExpression', () => {
  it('returns undefined for an expression that parses', () => {
    expect(checkExpression('steps.a.output.n + 1')).toBeUndefined();
    expect(checkExpression('($f := function($n){ $n }; $f(1))')).toBeUndefined();
  });

  it('returns a message with the position for one that does not', () => {
    expect(checkExpression('inputs.a +')).toBe(
      'Syntax error in `inputs.a +` at position 10: Unexpected end of expression (S0207)',
    );
    expect(checkExpression('a b')).toMatch(/at position 3/);
    expect(checkExpression('')).toBe('The expression is empty');
  });

  it('never throws, even for an expression nested too deeply for the parser', () => {
    const deep = `${'('.repeat(20000)}1${')'.repeat(20000)}`;
    expect(checkExpression(deep)).toMatch(/nested too deeply to parse/);
  });
});

describe('referencesSecrets', () => {
  it('is true for paths that start at secrets', () => {
    expect(referencesSecrets('secrets.token')).toBe(true);
    expect(referencesSecrets('"Bearer " & secrets.api.key')).toBe(true);
    expect(referencesSecrets('$$.secrets.token')).toBe(true);
    expect(referencesSecrets('$map([1], function($x){ secrets.t })')).toBe(true);
    expect(referencesSecrets('$lookup(secrets, "token")')).toBe(true);
  });

  it('is false for other paths, even when a later step is called secrets', () => {
    expect(referencesSecrets('inputs.secrets.token')).toBe(false);
    expect(referencesSecrets('"secrets.token"')).toBe(false);
    expect(referencesSecrets('inputs.a +')).toBe(false);
  });
});
