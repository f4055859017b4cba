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
