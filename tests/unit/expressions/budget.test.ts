/**
 * Bounded time, depth and size: runaway expressions fail with ExpressionLimit (`details.limit` says
 * which limit) and never block the process. Hostile expressions that used to crash or stall the
 * process run in child processes, in hostile.test.ts.
 */
import fc from 'fast-check';
import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../shared/errors.js';
import { evaluate } from '../../../shared/expressions/index.js';
import { failure as failed } from '../../support/failure.js';

const FIBONACCI_40 = '($f := function($n){ $n < 2 ? $n : $f($n-1) + $f($n-2) }; $f(40))';
const COUNT_DOWN = (n: number) => `($f := function($n){ $n = 0 ? 0 : 1 + $f($n-1) }; $f(${n}))`;

/** The error of a spent limit: code ExpressionLimit, and which limit in `details.limit`. */
function expectLimit(error: ExpressionError, limit: 'time' | 'depth' | 'size'): void {
  expect(error.code).toBe('ExpressionLimit');
  expect(error.details).toEqual({ limit });
}

/** The ExpressionError an evaluation fails with. */
const failure = (promise: Promise<unknown>) => failed(promise, ExpressionError);

describe('the time budget', () => {
  it('stops a runaway expression with ExpressionLimit (time), and timers keep firing meanwhile', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const started = Date.now();
    const error = await failure(evaluate(FIBONACCI_40, {}));
    const elapsed = Date.now() - started;
    clearInterval(timer);
    expectLimit(error, 'time');
    expect(error.message).toMatch(/ran longer than 1000 ms/);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(3000);
    // A blocked process would let the interval fire once, after the evaluation ended.
    expect(ticks).toBeGreaterThan(20);
  });

  it('lets other evaluations finish while a runaway one is running', async () => {
    const runaway = failure(evaluate(FIBONACCI_40, {}, { timeoutMs: 800 }));
    const started = Date.now();
    expect(await evaluate('$sum([1..100])', {})).toBe(5050);
    expect(Date.now() - started).toBeLessThan(400);
    expectLimit(await runaway, 'time');
  });

  it('honours a custom timeout', async () => {
    const started = Date.now();
    const error = await failure(evaluate(FIBONACCI_40, {}, { timeoutMs: 100 }));
    expect(error.message).toMatch(/ran longer than 100 ms/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stops an endless tail-recursive loop, which runs at constant depth', async () => {
    const error = await failure(
      evaluate('($f := function($n){ $f($n + 1) }; $f(0))', {}, { timeoutMs: 100 }),
    );
    expectLimit(error, 'time');
  });

  it('stops a runaway expression started through $eval with the same code', async () => {
    const error = await failure(evaluate(`$eval("${FIBONACCI_40}")`, {}, { timeoutMs: 100 }));
    expectLimit(error, 'time');
  });

  it('stops a runaway sibling inside an array constructor without leaving the others running', async () => {
    const error = await failure(evaluate(`[1, ${FIBONACCI_40}, 3]`, {}, { timeoutMs: 100 }));
    expectLimit(error, 'time');
  });
});

describe('the depth budget', () => {
  it('stops deep recursion with ExpressionLimit (depth) instead of exhausting memory or the stack', async () => {
    const error = await failure(evaluate(COUNT_DOWN(100_000), {}));
    expectLimit(error, 'depth');
    expect(error.message).toMatch(/went deeper than 500 nested evaluations/);
  });

  it('allows moderate recursion', async () => {
    expect(await evaluate(COUNT_DOWN(50), {})).toBe(50);
  });

  it('honours a custom maximum depth', async () => {
    expect(await evaluate(COUNT_DOWN(5), {}, { maxDepth: 50 })).toBe(5);
    expectLimit(await failure(evaluate(COUNT_DOWN(100), {}, { maxDepth: 50 })), 'depth');
  });

  it('does not count the items of a wide group-by as depth', async () => {
    const items = Array.from({ length: 5000 }, (_, i) => ({ id: `k${i}`, name: `n${i}` }));
    const grouped = (await evaluate('items{ id: name }', { items })) as Record<string, string>;
    expect(Object.keys(grouped)).toHaveLength(5000);
    expect(grouped.k4999).toBe('n4999');
    expect(await evaluate('$count(items.{ "id": id, "upper": $uppercase(name) })', { items })).toBe(5000);
  });

  it('does not count the items of a long array constructor as depth', async () => {
    const expression = `[${Array.from({ length: 2000 }, (_, i) => `${i} * 2`).join(', ')}]`;
    const result = (await evaluate(expression, {})) as number[];
    expect(result).toHaveLength(2000);
    expect(result[1999]).toBe(3998);
  });

  it('evaluates nested constructors and recursion through arrays in order', async () => {
    expect(await evaluate('[[1, 2], [3, [4, 5]], {"a": [6, {"b": 7}], "c": {"d": [8]}}]', {})).toEqual([
      [1, 2],
      [3, [4, 5]],
      { a: [6, { b: 7 }], c: { d: [8] } },
    ]);
    expect(await evaluate('($f := function($n){ $n = 0 ? [] : [$n, $f($n - 1)] }; $f(5))', {})).toEqual([
      5, 4, 3, 2, 1,
    ]);
    expect(
      await evaluate('$map([1, 2], function($i){ {"i": $i, "pair": [$i, [$i * 2, {"k": $i}]]} })', {}),
    ).toEqual([
      { i: 1, pair: [1, [2, { k: 1 }]] },
      { i: 2, pair: [2, [4, { k: 2 }]] },
    ]);
  });

  it('gives the same results as plain jsonata for nested constructors, group-bys and maps', async () => {
    const data = {
      items: [
        { id: 'a', v: 1 },
        { id: 'b', v: 2 },
        { id: 'a', v: 3 },
      ],
    };
    const { expression } = fc.letrec<{ expression: string }>((tie) => ({
      expression: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom('1', '"s"', 'items.v', 'v', 'id', '$count(items)'),
        fc.array(tie('expression'), { minLength: 1, maxLength: 4 }).map((items) => `[${items.join(', ')}]`),
        fc
          .array(tie('expression'), { minLength: 1, maxLength: 3 })
          .map((values) => `{${values.map((value, i) => `"k${i}": ${value}`).join(', ')}}`),
        tie('expression').map((value) => `items{ id: ${value} }`),
        tie('expression').map((value) => `$map(items, function($x){ ${value} })`),
        tie('expression').map((value) => `$string(${value})`),
      ),
    }));
    await fc.assert(
      fc.asyncProperty(expression, async (text) => {
        const expected = JSON.stringify(await jsonata(text).evaluate(structuredClone(data)));
        expect(JSON.stringify(await evaluate(text, data))).toBe(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('ends an array constructor whose item fails, with that failure', async () => {
    const error = await failure(evaluate('[1, $error("second item"), 3]', {}));
    expect(error.code).toBe('ExpressionError');
    expect(error.message).toMatch(/second item/);
  });

  it('reports a stack overflow inside a built-in as ExpressionLimit (depth)', async () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    const error = await failure(evaluate('$string(inputs)', { inputs: deep }));
    expectLimit(error, 'depth');
  });
});

describe('the size budget', () => {
  it('refuses a $pad wider than a million characters before building it', async () => {
    const started = Date.now();
    const error = await failure(evaluate('$pad("", 300000000)', {}));
    expectLimit(error, 'size');
    expect(error.message).toMatch(/asked \$pad for 300000000 characters/);
    expect(Date.now() - started).toBeLessThan(500);
    expectLimit(await failure(evaluate('$pad("", 600000, "ab")', {})), 'size');
  });

  it('keeps $pad working for ordinary widths', async () => {
    expect(await evaluate('$pad("ab", 5, "-") & $pad("cd", -4)', {})).toBe('ab---  cd');
  });

  it('stops a string that keeps growing', async () => {
    const expression = '($s := $pad("", 1000000, "x"); $f := function($t){ $f($t & $t) }; $f($s))';
    const error = await failure(evaluate(expression, {}));
    expectLimit(error, 'size');
    expect(error.message).toMatch(/built a string of \d+ characters/);
  });

  it('stops a sequence of more than a million items', async () => {
    const error = await failure(evaluate('$count([1..10000000])', {}));
    expectLimit(error, 'size');
    expect(await evaluate('$count([1..1000000])', {})).toBe(1_000_000);
  });
});
