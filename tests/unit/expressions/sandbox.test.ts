/** The sandbox: hostile expressions cannot reach the host, and the data they read is a read-only JSON view. */
import { afterEach, describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../shared/errors.js';
import { evaluate } from '../../../shared/expressions/index.js';
import { view } from '../../../shared/expressions/sandbox.js';

/** Anything that reaches `Function` or `process` can set this; nothing may. */
const CANARY = '__flowrunner_sandbox_canary';
const payload = `globalThis.${CANARY} = true; return typeof process`;

function hostileData(): Record<string, unknown> {
  return {
    inputs: { customer: 'Ann', tags: ['a', 'b'], nested: { a: 1 } },
    steps: { a: { status: 'completed', visit: 1, output: { text: 'hello' } } },
  };
}

/** Data a careless step or adapter could hand over: host functions, accessors and class instances. */
function careless(): Record<string, unknown> {
  class Customer {
    name = 'Ann';
    greet() {
      return Function;
    }
  }
  const withAccessor = { plain: 1 };
  Object.defineProperty(withAccessor, 'hidden', { value: Function, enumerable: false });
  return {
    inputs: {
      fn: Function,
      make: () => Function,
      customer: new Customer(),
      when: new Date(0),
      map: new Map([['k', 'v']]),
      [Symbol('s')]: Function,
      withAccessor,
      big: 10n,
    },
  };
}

afterEach(() => {
  delete (globalThis as Record<string, unknown>)[CANARY];
});

async function outcome(expression: string, data: Record<string, unknown>): Promise<unknown> {
  try {
    return await evaluate(expression, data);
  } catch (error) {
    expect(error).toBeInstanceOf(ExpressionError);
    return error;
  }
}

describe('the expression sandbox', () => {
  it.each([
    'inputs.constructor',
    '($x := inputs.constructor; $x("return process")())',
    `inputs.constructor("${payload}")()`,
    `inputs.tags.constructor("${payload}")()`,
    `inputs.customer.constructor.constructor("${payload}")()`,
    `"text".constructor.constructor("${payload}")()`,
    `[1, 2].constructor.constructor("${payload}")()`,
    `{}.constructor.constructor("${payload}")()`,
    `$lookup(inputs, "constructor")("${payload}")()`,
    `$lookup($lookup(inputs, "__proto__"), "constructor")("${payload}")()`,
    `$lookup(inputs, "con" & "structor")("${payload}")()`,
    `$eval("inputs.constructor")("${payload}")()`,
    `$eval("$lookup(inputs, 'constructor')")`,
    `$spread(inputs).constructor("${payload}")()`,
    `$each(inputs, function($v){ $v.constructor })`,
    'inputs.__proto__',
    'inputs.__proto__.constructor',
    'inputs.prototype',
    '$.constructor',
    '$$.constructor',
    '**.constructor',
    '*.constructor',
    '$sum.constructor',
    '$lookup($sum, "implementation")',
    `($f := function($x){ $x }; $lookup($f, "environment"))`,
    `($f := function($x){ $x }; $f.environment.lookup("${payload}"))`,
    `$keys(function($x){ $x })`,
    'process',
    '$process',
    'process.env',
    'globalThis',
    '$globalThis',
    'require',
    `$require("child_process")`,
    'Function',
    `$Function("${payload}")()`,
    'global',
    'this',
  ])('gives %s no access to the host', async (expression) => {
    const result = await outcome(expression, hostileData());
    expect((globalThis as Record<string, unknown>)[CANARY]).toBeUndefined();
    if (!(result instanceof ExpressionError)) {
      expect(typeof result).not.toBe('function');
      expect(result === undefined || JSON.parse(JSON.stringify(result)) !== null).toBe(true);
      expect(JSON.stringify(result ?? null)).not.toMatch(/native code|process|function/i);
    }
  });

  it.each([
    `inputs.fn("${payload}")()`,
    `inputs.make()("${payload}")()`,
    `inputs.customer.greet()("${payload}")()`,
    `$lookup(inputs.withAccessor, "hidden")("${payload}")()`,
    `$each(inputs, function($v){ $type($v) })`,
  ])('hides host functions that sit in the data: %s', async (expression) => {
    const result = await outcome(expression, careless());
    expect((globalThis as Record<string, unknown>)[CANARY]).toBeUndefined();
    if (!(result instanceof ExpressionError)) expect(JSON.stringify(result)).not.toMatch(/function/);
  });

  it('shows the data as JSON would: own enumerable fields, dates as strings, no functions', async () => {
    expect(await evaluate('inputs', careless())).toEqual({
      customer: { name: 'Ann' },
      when: '1970-01-01T00:00:00.000Z',
      map: {},
      withAccessor: { plain: 1 },
    });
    expect(await evaluate('$keys(inputs.customer)', careless())).toBe('name');
    expect(await evaluate('$type(inputs.fn)', careless())).toBeUndefined();
  });

  it('reads constructor, __proto__ and prototype as ordinary data keys when the data has them', async () => {
    const data = JSON.parse('{"racing": {"constructor": "Ferrari", "__proto__": {"x": 1}, "prototype": 7}}');
    expect(await evaluate('racing.constructor', data)).toBe('Ferrari');
    expect(await evaluate('racing.__proto__.x', data)).toBe(1);
    expect(await evaluate('racing.prototype', data)).toBe(7);
    const copy = (await evaluate('racing', data)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(['constructor', '__proto__', 'prototype']);
  });

  it('cannot pollute prototypes through object constructors, $merge or transforms', async () => {
    const results = [
      await evaluate('{"__proto__": {"polluted": 1}}', {}),
      await evaluate('$merge([{"a": 1}, {"__proto__": {"polluted": 2}}])', {}),
      await evaluate('$ ~> | inputs | {"__proto__": {"polluted": 3}} |', hostileData()),
    ];
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(results[0])).toBe(Object.prototype);
    expect(Object.hasOwn(results[0] as object, '__proto__')).toBe(true);
    expect((results[1] as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never changes the data it reads', async () => {
    const data = hostileData();
    const before = structuredClone(data);
    await evaluate('$ ~> | inputs.nested | {"a": 2, "b": 3} |', data);
    await evaluate('$merge([inputs, {"customer": "Bob"}])', data);
    await evaluate('$sort(inputs.tags, function($l, $r){ $l < $r })', data);
    expect(data).toEqual(before);
  });

  it('keeps $eval in the same sandbox', async () => {
    expect(await evaluate('$eval("inputs.customer & \\"!\\"")', hostileData())).toBe('Ann!');
    expect(await evaluate('$eval("$lookup(inputs, \\"constructor\\")")', hostileData())).toBeUndefined();
  });

  it('keeps the clock and random numbers, which are values rather than host access', async () => {
    const now = (await evaluate('$now()', {})) as string;
    expect(Math.abs(Date.parse(now) - Date.now())).toBeLessThan(5000);
    expect(await evaluate('$millis() > 0', {})).toBe(true);
    const random = (await evaluate('$random()', {})) as number;
    expect(random >= 0 && random < 1).toBe(true);
  });
});

describe('view', () => {
  it('gives objects without a prototype that refuse every write', () => {
    const source = { a: { b: 1 } };
    const seen = view(source) as Record<string, Record<string, unknown>>;
    expect(Object.getPrototypeOf(seen)).toBeNull();
    expect(() => {
      seen.a!.b = 2;
    }).toThrow(TypeError);
    expect(() => Object.defineProperty(seen, 'c', { value: 1 })).toThrow(TypeError);
    expect(() => Object.setPrototypeOf(seen, Object.prototype)).toThrow(TypeError);
    expect(source).toEqual({ a: { b: 1 } });
  });

  it('gives the same view for the same field, and copies arrays with views of their items', () => {
    const seen = view({ a: { b: 1 }, list: [{ c: 2 }, undefined, () => 1] }) as Record<string, unknown>;
    expect(seen.a).toBe(seen.a);
    const list = seen.list as unknown[];
    expect(Array.isArray(list)).toBe(true);
    expect(list[1]).toBeNull();
    expect(list[2]).toBeNull();
    expect(Object.getPrototypeOf(list[0])).toBeNull();
  });

  it('turns numbers JSON cannot hold into null and hides bigints and symbols', () => {
    const seen = view({ inf: Number.POSITIVE_INFINITY, big: 1n, sym: Symbol('x'), ok: 1 }) as object;
    expect(Object.keys(seen)).toEqual(['inf', 'ok']);
    expect((seen as Record<string, unknown>).inf).toBeNull();
  });
});
