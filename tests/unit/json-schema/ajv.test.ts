/** One Ajv configuration and cache: what the validator accepts is what the engine runs, the same way. */
import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import { validateWorkflow } from '../../../shared/definition/validate.js';
import { checkRunInputs } from '../../../shared/engine/inputs.js';
import {
  cachedValidatorCount,
  compileJsonSchema,
  metaSchemaErrors,
  schemaPatternProblems,
  schemaPatterns,
  validatorFor,
} from '../../../shared/json-schema/index.js';

const GENEROUS_MS = 1000;

const definition = (inputs: Record<string, unknown>): WorkflowDefinition => ({
  schema_version: '1.0',
  id: 'wf',
  inputs,
  steps: [{ id: 'a', type: 'transform', config: { output: 1 } }],
});

describe('compileJsonSchema', () => {
  it('hands the validator and the engine the same compiled validator', () => {
    const inputs = { type: 'object', properties: { zip: { type: 'string', pattern: '^\\d{5}$' } } };
    expect(validateWorkflow({ ...definition(inputs) }).errors).toEqual([]);
    // The workflow's validation compiled it; the run and an ai_generate step reuse that compilation.
    expect(validatorFor({ ...inputs })).toBe(compileJsonSchema(structuredClone(inputs)));
    expect(checkRunInputs(definition(structuredClone(inputs)), { zip: '1234' })).toEqual([
      { path: 'inputs.zip', message: 'must match pattern "^\\d{5}$"' },
    ]);
  });

  it('does not change with the caller’s object after compiling it', () => {
    const schema: Record<string, unknown> = { type: 'string', maxLength: 2 };
    const validate = compileJsonSchema(schema);
    schema.maxLength = 100;
    expect(validate('abc')).toBe(false);
  });

  it('keeps a bounded number of validators, and those of replaced Ajv instances keep working', () => {
    const first = compileJsonSchema({ type: 'integer', minimum: -7 });
    for (let i = 0; i < 650; i++) compileJsonSchema({ type: 'integer', minimum: i, description: 'bounded' });
    expect(cachedValidatorCount()).toBeLessThanOrEqual(200);
    expect(first(-7)).toBe(true);
    expect(first(-8)).toBe(false);
  });

  it('lets two schemas share an $id, and a schema refer to itself by it', () => {
    const a = compileJsonSchema({ $id: 'https://example.com/s', type: 'string' });
    const b = compileJsonSchema({
      $id: 'https://example.com/s',
      $defs: { n: { type: 'number' } },
      $ref: 'https://example.com/s#/$defs/n',
    });
    expect([a('x'), b('x'), b(1)]).toEqual([true, false, true]);
  });

  it('compiles a schema that refers to itself by "#" without an $id', () => {
    const tree = { type: 'object', properties: { children: { type: 'array', items: { $ref: '#' } } } };
    const validate = compileJsonSchema(tree);
    expect(validate({ children: [{ children: [] }] })).toBe(true);
    expect(validate({ children: [{ children: [1] }] })).toBe(false);
  });

  it('keeps schemas without an $id apart: one cannot refer to another', () => {
    const a = compileJsonSchema({ $defs: { n: { type: 'number' } }, $ref: '#/$defs/n', description: 'a' });
    expect(a(1)).toBe(true);
    // The `$id` compileJsonSchema gives a schema without one: the same for all, registered for none.
    for (const schema of [
      { $ref: 'https://flowrunner.invalid/json-schema#/$defs/n' },
      { $id: 'https://example.com/b', $ref: 'https://flowrunner.invalid/json-schema#/$defs/n' },
    ]) {
      expect(() => compileJsonSchema(schema)).toThrow(/can't resolve reference/);
    }
    expect(() => compileJsonSchema({ $ref: '#/$defs/missing' })).toThrow(
      "can't resolve reference #/$defs/missing from id #",
    );
  });

  it('refuses a schema that refers to itself without end, and does not cache it', () => {
    const before = cachedValidatorCount();
    expect(() => compileJsonSchema({ $id: 'https://x.example/loop', $ref: '#' })).toThrow(
      'the schema refers to itself without end',
    );
    expect(cachedValidatorCount()).toBeLessThanOrEqual(before);
  });

  it('runs patterns and patternProperties on the linear-time engine', () => {
    // Both took seconds on V8's engine (Ajv compiles with the u flag, which V8's fallback leaves out).
    const validate = compileJsonSchema({
      type: 'object',
      properties: { name: { type: 'string', pattern: '^(a+)+$' } },
      patternProperties: { '^(\\p{L}+)+$': { type: 'string' } },
    });
    const hostile = `${'a'.repeat(30)}!`;
    const start = performance.now();
    expect(validate({ name: hostile })).toBe(false);
    expect(validate({ name: 'a'.repeat(100_000) })).toBe(true);
    expect(validate({ [`${'é'.repeat(29)}!`]: 'x' })).toBe(true);
    expect(performance.now() - start).toBeLessThan(GENEROUS_MS);
  });

  it('throws for a pattern the engine cannot run', () => {
    expect(() => compileJsonSchema({ type: 'string', pattern: '^(a)\\1$' })).toThrow(
      /backreferences need backtracking/,
    );
    expect(() => validatorFor({ type: 'string', pattern: '^(?=a)' })).toThrow(
      expect.objectContaining({ code: 'InvalidJsonSchema', retryable: false }),
    );
  });
});

describe('uniqueItems', () => {
  const unique = compileJsonSchema({ type: 'array', uniqueItems: true });

  it.each<[string, unknown[], boolean]>([
    ['distinct scalars', [1, '1', true, null, 'a'], true],
    ['1 and true', [1, true], true],
    ['0 and false, null and "null"', [0, false, null, 'null'], true],
    ['1 and 1.0', [1, 1.0], false],
    ['0 and -0', [0, -0], false],
    ['repeated strings', ['a', 'b', 'a'], false],
    [
      'objects with their keys in another order',
      [
        { a: 1, b: [2, { c: 3, d: 4 }] },
        { b: [2, { d: 4, c: 3 }], a: 1 },
      ],
      false,
    ],
    [
      'objects that differ in one nested value',
      [
        { a: 1, b: { c: 3 } },
        { a: 1, b: { c: '3' } },
      ],
      true,
    ],
    ['objects with a key more', [{ a: 1 }, { a: 1, b: 2 }], true],
    [
      'nested arrays',
      [
        [1, [2, 3]],
        [1, [3, 2]],
        [[1], 2],
      ],
      true,
    ],
    ['repeated nested arrays', [[1, [2, 3]], [0], [1, [2, 3]]], false],
    ['arrays and objects alike in text', [[], {}, [[]], [{}], '[]', '{}'], true],
    ['a key that looks like JSON', [{ 'a":1,"b': 2 }, { a: 1, b: 2 }], true],
    ['an empty list', [], true],
  ])('decides %s', (_name, items, expected) => {
    expect(unique(items)).toBe(expected);
  });

  it('reports the pair as Ajv does', () => {
    expect(unique([{ a: 1 }, 'x', { a: 1 }])).toBe(false);
    expect(unique.errors).toEqual([
      expect.objectContaining({
        keyword: 'uniqueItems',
        instancePath: '',
        params: { i: 0, j: 2 },
        message: 'must NOT have duplicate items (items ## 2 and 0 are identical)',
      }),
    ]);
    const inputs = { type: 'object', properties: { xs: { type: 'array', uniqueItems: true } } };
    expect(checkRunInputs(definition(inputs), { xs: [[1], [2], [1]] })).toEqual([
      { path: 'inputs.xs', message: 'must NOT have duplicate items (items ## 2 and 0 are identical)' },
    ]);
  });

  it('says nothing of a value that is not an array, like every array keyword', () => {
    const validate = compileJsonSchema({ type: 'object', properties: { xs: { uniqueItems: true } } });
    expect(validate({ xs: 'not a list' })).toBe(true);
    expect(validate({ xs: [1, 1] })).toBe(false);
  });

  it('ignores uniqueItems: false, and checks the schemas of workflows with it', () => {
    expect(compileJsonSchema({ uniqueItems: false })([1, 1])).toBe(true);
    expect(metaSchemaErrors({ type: 'array', uniqueItems: 'yes' })[0]).toMatchObject({
      instancePath: '/uniqueItems',
    });
    expect(metaSchemaErrors({ type: 'object', required: ['a', 'a'] })[0]).toMatchObject({
      instancePath: '/required',
      keyword: 'uniqueItems',
    });
  });

  it('checks 60,000 lists in linear time (85 s before)', () => {
    const inputs = { type: 'object', properties: { xs: { type: 'array', uniqueItems: true } } };
    const xs = Array.from({ length: 60_000 }, (_, i) => [i]);
    expect(checkRunInputs(definition(inputs), { xs })).toEqual([]);
    xs.push([59_999]);
    expect(checkRunInputs(definition(inputs), { xs })).toEqual([
      {
        path: 'inputs.xs',
        message: 'must NOT have duplicate items (items ## 60000 and 59999 are identical)',
      },
    ]);
  });
});

describe('checkRunInputs', () => {
  it('checks a hostile inputs pattern (12.5 s on 29 characters before) at once', () => {
    const inputs = { type: 'object', properties: { code: { type: 'string', pattern: '^(a+)+$' } } };
    const start = performance.now();
    const issues = checkRunInputs(definition(inputs), { code: `${'a'.repeat(40)}!` });
    expect(performance.now() - start).toBeLessThan(GENEROUS_MS);
    expect(issues).toEqual([{ path: 'inputs.code', message: 'must match pattern "^(a+)+$"' }]);
  });
});

describe('metaSchemaErrors', () => {
  it('says what the 2020-12 meta-schema finds wrong', () => {
    expect(metaSchemaErrors({ type: 'object' })).toEqual([]);
    expect(metaSchemaErrors({ type: 'strin' })[0]).toMatchObject({ instancePath: '/type' });
  });
});

describe('schemaPatterns', () => {
  it('finds patterns where schemas are, and nowhere else', () => {
    const schema = {
      type: 'object',
      pattern: 'root',
      properties: {
        pattern: { type: 'string', pattern: 'named-pattern' },
        list: { type: 'array', items: { pattern: 'item' }, prefixItems: [{ pattern: 'first' }] },
        any: { anyOf: [{ pattern: 'any0' }, { not: { pattern: 'not' } }] },
      },
      patternProperties: { '^x-': { pattern: 'extension' } },
      $defs: { d: { pattern: 'def' } },
      enum: [{ pattern: 'data' }],
      const: { pattern: 'data' },
      default: { pattern: 'data' },
      examples: [{ pattern: 'data' }],
    };
    expect(schemaPatterns(schema).map((found) => [found.path.join('.'), found.pattern])).toEqual([
      ['pattern', 'root'],
      ['patternProperties.^x-', '^x-'],
      ['properties.pattern.pattern', 'named-pattern'],
      ['properties.list.items.pattern', 'item'],
      ['properties.list.prefixItems.0.pattern', 'first'],
      ['properties.any.anyOf.0.pattern', 'any0'],
      ['properties.any.anyOf.1.not.pattern', 'not'],
      ['patternProperties.^x-.pattern', 'extension'],
      ['$defs.d.pattern', 'def'],
    ]);
  });

  it('reports each pattern the engine cannot run, with its path', () => {
    const problems = schemaPatternProblems({
      properties: { a: { pattern: '(' }, b: { pattern: '^(a)\\1$' }, c: { pattern: '^ok$' } },
      patternProperties: { '(?<=x)y': true },
    });
    expect(problems.map((p) => p.path.join('.'))).toEqual([
      'patternProperties.(?<=x)y',
      'properties.a.pattern',
      'properties.b.pattern',
    ]);
    expect(problems[0]?.message).toMatch(/lookbehind/);
    expect(problems[1]?.message).toMatch(/^Invalid regular expression: \/\(\/u: /);
    expect(problems[2]?.message).toMatch(/backreferences/);
  });
});
