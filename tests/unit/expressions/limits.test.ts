/**
 * The limits of issue 9 that are safe to meet in the test process: `$eval` within the budget, the
 * checks made before a built-in runs, the allocation budget, and the guarded built-ins giving
 * what jsonata's own give. (The expressions that used to crash or stall are in hostile.test.ts.)
 */
import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it, vi } from 'vitest';
import { ExpressionError } from '../../../shared/errors.js';
import { evaluate } from '../../../shared/expressions/index.js';
import { failure as failed } from '../../support/failure.js';

/** The ExpressionError an evaluation fails with. */
const failure = (promise: Promise<unknown>) => failed(promise, ExpressionError);

async function limit(expression: string, options = {}): Promise<ExpressionError> {
  const error = await failure(evaluate(expression, {}, options));
  expect(error.code).toBe('ExpressionLimit');
  return error;
}

/** What plain jsonata gives, for comparison (on a copy: jsonata's transform may change its input). */
async function plain(expression: string, data: unknown = {}): Promise<unknown> {
  return JSON.parse(JSON.stringify((await jsonata(expression).evaluate(structuredClone(data))) ?? null));
}

async function ours(expression: string, data: Record<string, unknown> = {}): Promise<unknown> {
  return JSON.parse(JSON.stringify((await evaluate(expression, data)) ?? null));
}

/** `$e(n)` nests n `$eval`s and fails at the bottom. */
const NESTED_EVAL_ERROR = (levels: number) =>
  `( $e := function($n){ $n = ${levels} ? $error("bottom") : $eval("$e(" & ($n + 1) & ")") }; $e(0) )`;

describe('$eval within the budget', () => {
  it('keeps working: JSON text, nested $eval, a focus, the run data', async () => {
    expect(await evaluate('$eval(\'{"a": [1, 2, {"b": null}]}\')', {})).toEqual({ a: [1, 2, { b: null }] });
    expect(await evaluate('$eval("$eval(\'$eval(\\"1 + 2\\")\')")', {})).toBe(3);
    expect(await evaluate('$eval("a * 2", {"a": 21})', {})).toBe(42);
    expect(await evaluate('$eval("inputs.n + 1")', { inputs: { n: 1 } })).toBe(2);
    expect(
      await evaluate('( $f := function($n){ $n = 0 ? 0 : 1 + $eval("$f(" & ($n - 1) & ")") }; $f(20) )', {}),
    ).toBe(20);
  });

  it('passes an error up through nested $evals with a short message (it used to double at each level)', async () => {
    const error = await failure(evaluate(NESTED_EVAL_ERROR(12), {}));
    expect(error.code).toBe('ExpressionError');
    expect(error.message).toMatch(/bottom/);
    // Today's jsonata quotes the message below it at each level: 12 levels made 80 KB of backslashes.
    expect(error.message.length).toBeLessThan(1000);
  });

  it('counts $eval recursion against the depth budget', async () => {
    const started = Date.now();
    // Shallow enough for the test process to survive today's jsonata; hostile.test.ts runs the rest.
    const error = await limit('( $e := function(){ $eval("$e()") }; $e() )', { maxDepth: 60 });
    expect(error.details).toEqual({ limit: 'depth' });
    expect(error.message).toMatch(/went deeper than 60 nested evaluations/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses an expression of more than a million characters', async () => {
    const error = await limit('$eval($pad("", 600000, " ") & $pad("", 600000, " ") & "1")');
    expect(error.message).toMatch(/passed \$eval an expression of 1200001 characters/);
  });

  it('reports a parse that overflows the stack as a depth limit', async () => {
    const error = await limit('$eval($pad("", 100000, "("))');
    expect(error.details).toEqual({ limit: 'depth' });
  });
});

describe('checks made before a built-in runs', () => {
  it.each([
    ['$count([1..10000000])', /asked for a range of 10000000 items/],
    ['$count([0..$count([1..5]) * 1000000])', /asked for a range of 5000001 items/],
    ['$join($map([1..20], function(){ $pad("", 1000000, "x") }))', /asked \$join for 20000000 characters/],
    ['$split($join($map([1..3], function(){ $pad("", 1000000, "x") })), "")', /asked \$split for more than/],
    [
      '$string($map([1..200], function(){ $pad("", 100000, "x") }))',
      /asked \$string for about \d+ characters/,
    ],
    ['$replace($pad("", 1000000, "x") & $pad("", 1000000, "x"), "x", "xxxxxx")', /asked \$replace for more/],
    ['$fromMillis(0, "[Y,300000000]")', /asked for a date part 300000000 characters wide/],
    ['$now("[Y,300000000]")', /asked for a date part 300000000 characters wide/],
    ['$pad("", 300000000)', /asked \$pad for 300000000 characters/],
    ['$formatInteger(1, "#" & $pad("", 100000, "0"))', /passed a picture of 100001 characters/],
    ['$count([1..20000]^($))', /ordering 20000 items with \^\(\.\.\.\) holds about 381 MB/],
  ])('%s', async (expression, message) => {
    const started = Date.now();
    const error = await limit(expression);
    expect(error.details).toEqual({ limit: 'size' });
    expect(error.message).toMatch(message);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});

describe('the size of a value, shared parts counted each time', () => {
  it('refuses a value that refers to itself twice per level, before anything copies it', async () => {
    const error = await limit(
      '($f := function($x, $n){ $n = 0 ? $x : $f({"a": $x, "b": $x}, $n - 1) }; $count($keys($f("x", 40))))',
    );
    expect(error.details).toEqual({ limit: 'size' });
    expect(error.message).toMatch(/built a value of more than \d+ characters as JSON/);
  });

  it('refuses a value nested more than 1000 levels deep', async () => {
    const error = await limit('($f := function($x, $n){ $n = 0 ? $x : $f([[$x]], $n - 1) }; $f(1, 2000))', {
      maxDepth: 100_000,
      timeoutMs: 5000,
    });
    expect(error.details).toEqual({ limit: 'depth' });
    expect(error.message).toMatch(/nested more than 1000 levels deep/);
  });

  it('refuses many references to a large piece of the run data', async () => {
    const big = { text: 'x'.repeat(1_000_000) };
    const error = await failure(evaluate('$map([1..100], function(){ inputs.big })', { inputs: { big } }));
    expect(error.code).toBe('ExpressionLimit');
    expect(error.details).toEqual({ limit: 'size' });
  });

  it('measures run data of many small objects without remembering each one', async () => {
    // A million objects in a thousand lists (a large API response). Remembering each object's size
    // in a WeakMap made measuring quadratic past ~2 million objects (V8 hashes objects to 21 bits):
    // 3 million took 37 s, all of it synchronous. Only parts of 4,096 characters or more are kept.
    const groups = Array.from({ length: 1000 }, () => Array.from({ length: 1000 }, () => ({})));
    const set = vi.spyOn(WeakMap.prototype, 'set');
    try {
      // What is asserted is what is remembered, not how fast: a busy machine gets all the time it needs.
      expect(await evaluate('$count(body.groups)', { body: { groups } }, { timeoutMs: 60_000 })).toBe(1000);
      expect(set.mock.calls.length).toBeLessThan(1000);
    } finally {
      set.mockRestore();
    }
  });

  it('still returns the run data as it is, however large', async () => {
    const items = Array.from({ length: 20_000 }, (_, i) => ({ id: i, text: 'y'.repeat(100) }));
    const result = (await evaluate('[inputs.items[id < 5000]]', { inputs: { items } })) as unknown[];
    expect(result).toHaveLength(5000);
  });
});

describe('the allocation budget', () => {
  it('stops an evaluation that allocates more than maxAllocatedBytes', async () => {
    const error = await limit('$count([1..100].([1..10000]))', { maxAllocatedBytes: 1_000_000 });
    expect(error.details).toEqual({ limit: 'size' });
    expect(error.message).toMatch(/allocated more than 1 MB/);
    expect(await evaluate('$count([1..100].([1..10000]))', {})).toBe(1_000_000);
  });

  it('counts closures, objects, strings and regex matches', async () => {
    const tight = { maxAllocatedBytes: 2_000_000 };
    await limit('$count($map([1..10000], function($i){ function(){ $i } }))', tight);
    await limit('$count([1..10000].{"a": $, "b": $, "c": $})', tight);
    await limit('$count($map([1..1000], function($i){ $uppercase($pad("", 10000, "x")) }))', tight);
    await limit('$count($match($pad("", 100000, "x"), /x/))', tight);
  });

  it('leaves room for ordering a few thousand items with ^(...)', async () => {
    const items = Array.from({ length: 3000 }, (_, i) => ({ n: (i * 7919) % 3000 }));
    const sorted = (await evaluate(
      'inputs.items^(>n).n',
      { inputs: { items } },
      { timeoutMs: 10_000 },
    )) as number[];
    expect(sorted[0]).toBe(2999);
    expect(sorted.at(-1)).toBe(0);
  });

  it('leaves room for the usual $append in $reduce', async () => {
    expect(await evaluate('$count($reduce([1..2000], function($a, $i){ $append($a, $i) }, []))', {})).toBe(
      2000,
    );
  });
});

describe('the guarded built-ins give what jsonata gives', () => {
  const data = {
    inputs: {
      items: [
        { id: 'x', v: 2 },
        { id: 'y', v: 1 },
        { id: 'z', v: 2 },
      ],
      text: 'a.b.c',
    },
  };

  it.each([
    '$map(inputs.items, $string)',
    '$map([1, 2], $string)',
    '($f := $substring(?, 1); $f("hello"))',
    'inputs.text ~> $replace(".", "-")',
    '$replace("a.b.c.d", ".", "$&", 2)',
    '$replace("aaaa", "aa", "b", 1.5)',
    '$replace("abab", /a(b)/, "<$1>")',
    '$replace("abc", /b/, function($m){ $uppercase($m.match) })',
    '$match("abab", /a(b)/)',
    '$split("a,b,,c", ",", 3)',
    '$split("a1b22c", /\\d+/)',
    '$contains("abc", /b/)',
    '$sort(inputs.items, function($a, $b){ $a.v > $b.v }).id',
    '$sort(["b", "a", "c", "a"])',
    '$sort([3, 1, 2, 1.5])',
    'inputs.items^(>v).id',
    '$distinct([1, 1, 2, "2", {"a": 1}, {"a": 1}])',
    '$distinct(inputs.items.v)',
    '{"k": {"a": 1}} ~> | k | {"b": 2} |',
    'inputs ~> | items | {"seen": true} |',
    '$string({"a": [1, 2]}, true)',
    '$join(["a", "b"], "-")',
    '$pad("x", 3) & $pad("y", -3, "#")',
    '$fromMillis(0, "[Y0001]-[M01]-[D01]")',
    '$lookup($sum, "implementation")',
    '[1..3, 5]',
  ])('%s', async (expression) => {
    expect(await ours(expression, data)).toEqual(await plain(expression, data));
  });

  it('keeps $now and $millis the time of the evaluation', async () => {
    expect(await evaluate('$now() = $fromMillis($millis())', {})).toBe(true);
    expect(await evaluate('$toMillis($now()) = $millis()', {})).toBe(true);
  });

  it('sorts, removes duplicates and replaces as jsonata does, for generated inputs', async () => {
    const json = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(0, 1, 2, -0, 1.5, 'a', 'b', '1', true, false, null),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('value'), { maxKeys: 3 }),
      ),
    })).value;
    await fc.assert(
      fc.asyncProperty(
        fc.array(json, { minLength: 250, maxLength: 400 }),
        fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 300 }),
        fc.array(fc.string({ maxLength: 4 }), { maxLength: 50 }),
        async (values, numbers, strings) => {
          const input = { values, numbers, strings };
          for (const expression of [
            '$distinct(values)',
            '$sort(numbers)',
            '$sort(strings)',
            '$sort(numbers, function($a, $b){ $a % 3 > $b % 3 })',
          ]) {
            expect(await ours(expression, input)).toEqual(await plain(expression, input));
          }
        },
      ),
      { numRuns: 20 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: fc.constantFrom('a', 'b', '$', '&'), maxLength: 40 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '$'), minLength: 1, maxLength: 3 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '$', '&', '1'), maxLength: 3 }),
        fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
        async (text, pattern, replacement, most) => {
          const input = { text, pattern, replacement, most };
          const expression =
            most === undefined
              ? '$replace(text, pattern, replacement)'
              : '$replace(text, pattern, replacement, most)';
          expect(await ours(expression, input)).toEqual(await plain(expression, input));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a transform that would change a value other than its own copy', async () => {
    for (const expression of [
      '($o := {"a": 1}; $x := {} ~> | $o | {"b": 2} |; $o)',
      '($clone := function($x){ $x }; {"a": 1} ~> | $ | {"b": 2} |)',
    ]) {
      const error = await failure(evaluate(expression, {}));
      expect(error.code).toBe('ExpressionError');
      expect(error.message).toMatch(
        /uses a transform whose pattern selects values outside the copy it makes/,
      );
    }
  });

  it('does not let a built-in run outside an evaluation', async () => {
    expect(await evaluate('$lookup($string, "implementation")', {})).toBeUndefined();
  });

  it('cuts long messages short', async () => {
    const error = await failure(evaluate('$error($pad("", 5000, "e"))', {}));
    expect(error.message.length).toBeLessThan(1200);
    expect(error.message).toMatch(/\.\.\. \(5000 characters\)/);
  });
});
