/** The strict-schema transform: what strict mode takes, and answers brought back to the original schema. */
import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { mulberry32, sampleFromSchema } from '../../../shared/ai/schema-sample.js';
import { toStrictSchema } from '../../../shared/ai/strict-schema.js';
import { validatorFor } from '../../../shared/json-schema/index.js';
import { strictSchemaErrors } from '../../support/fake-openai.js';
import { simpleSchema } from './arbitraries.js';

type Schema = Record<string, unknown>;
/** `then: {}` (a literal `then` key makes an object look like a promise to the linter). */
const thenKeyword = JSON.parse('{"then": {}}') as Schema;

/** An original answer sent through a strict model and back: encode, check against what was sent, restore. */
function roundTrip(schema: Schema, answer: unknown) {
  const plan = toStrictSchema(schema);
  const encoded = plan.encode(answer);
  return { plan, encoded, restored: plan.restore(encoded) };
}

describe('toStrictSchema', () => {
  it('closes objects and makes optional properties required and nullable', () => {
    const plan = toStrictSchema({
      type: 'object',
      required: ['a'],
      properties: {
        a: { type: 'string', maxLength: 5 },
        b: { type: 'object', properties: { c: { type: 'integer' } } },
        n: { type: ['string', 'null'] },
      },
    });
    expect(plan).toMatchObject({ strict: true, wrapped: false, problems: [] });
    expect(plan.dropped).toEqual(['maxLength']);
    expect(plan.schema).toEqual({
      type: 'object',
      required: ['a', 'b', 'n'],
      additionalProperties: false,
      properties: {
        a: { type: 'string' },
        b: {
          anyOf: [
            {
              type: 'object',
              properties: { c: { anyOf: [{ type: 'integer' }, { type: 'null' }] } },
              required: ['c'],
              additionalProperties: false,
            },
            { type: 'null' },
          ],
        },
        n: { type: ['string', 'null'] },
      },
    });
    expect(strictSchemaErrors(plan.schema)).toEqual([]);
    // Added nulls go; a null the original allows stays.
    expect(plan.restore({ a: 'x', b: { c: null }, n: null })).toEqual({ a: 'x', b: {}, n: null });
    expect(plan.restore({ a: 'x', b: null, n: 'y' })).toEqual({ a: 'x', n: 'y' });
  });

  it('wraps a non-object root in {value}, keeping $defs at the top', () => {
    const plan = toStrictSchema({
      type: 'array',
      items: { $ref: '#/$defs/item' },
      $defs: {
        item: {
          type: 'object',
          properties: { id: { type: 'string' }, note: { type: 'string' } },
          required: ['id'],
        },
      },
    });
    expect(plan).toMatchObject({ strict: true, wrapped: true });
    expect(strictSchemaErrors(plan.schema)).toEqual([]);
    expect(
      plan.restore({
        value: [
          { id: '1', note: null },
          { id: '2', note: 'n' },
        ],
      }),
    ).toEqual([{ id: '1' }, { id: '2', note: 'n' }]);
    expect(toStrictSchema({ type: 'string', enum: ['a', 'b'] }).restore({ value: 'a' })).toBe('a');
  });

  it.each([
    ['allOf', { type: 'object', properties: { a: { type: 'string' } }, allOf: [{ required: ['a'] }] }],
    ['not', { type: 'object', properties: { a: { not: { type: 'null' } } } }],
    [
      'if/then',
      { type: 'object', properties: { a: { type: 'string' } }, if: { required: ['a'] }, ...thenKeyword },
    ],
    ['patternProperties', { type: 'object', patternProperties: { '^x': { type: 'string' } } }],
    ['oneOf', { type: 'object', properties: { a: { oneOf: [{ type: 'string' }, { type: 'integer' }] } } }],
    ['an open map', { type: 'object', additionalProperties: { type: 'string' } }],
    ['any keys', { type: 'object' }],
    ['a root $ref', { $ref: '#', type: 'object', properties: {} }],
    ['an untyped property', { type: 'object', properties: { a: {} } }],
  ])('sends %s with strict: false, as it is', (_name, schema) => {
    const plan = toStrictSchema(schema as Schema);
    expect(plan.strict).toBe(false);
    expect(plan.problems.length).toBeGreaterThan(0);
    const root = plan.wrapped ? (plan.schema.properties as Schema).value : plan.schema;
    expect(root).toEqual(schema);
    expect(plan.restore(plan.encode({ a: 'x' }))).toEqual({ a: 'x' });
  });

  it('is pure: the input schema is not changed', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const copy = structuredClone(schema);
    toStrictSchema(schema);
    expect(schema).toEqual(copy);
  });

  it('round-trips every json_schema in the examples', () => {
    const schemas: Schema[] = [];
    const collect = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(collect);
      else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'json_schema' && typeof value === 'object' && value !== null)
            schemas.push(value as Schema);
          else collect(value);
        }
      }
    };
    for (const file of readdirSync('examples').filter((f) => /\.ya?ml$/.test(f))) {
      collect(parseYaml(readFileSync(`examples/${file}`, 'utf8')));
    }
    expect(schemas.length).toBeGreaterThan(0);
    for (const [i, schema] of schemas.entries()) {
      const answer = sampleFromSchema(schema, mulberry32(i));
      const { plan, encoded, restored } = roundTrip(schema, answer);
      if (plan.strict) {
        expect(strictSchemaErrors(plan.schema)).toEqual([]);
        expect(validatorFor(plan.schema)(encoded)).toBe(true);
      }
      expectSameUpToNulls(restored, answer);
      expect(validatorFor(schema)(restored)).toBe(true);
    }
  });

  it('property: for random schemas, strict output is accepted by OpenAI and every answer round-trips to the original', () => {
    fc.assert(
      fc.property(simpleSchema, fc.integer(), (schema, seed) => {
        const answer = sampleFromSchema(schema, mulberry32(seed));
        fc.pre(validatorFor(schema)(answer));
        const { plan, encoded, restored } = roundTrip(schema, answer);
        if (plan.strict) {
          expect(strictSchemaErrors(plan.schema)).toEqual([]);
          // What a strict model may say for this answer fits the schema sent.
          expect(validatorFor(plan.schema)(encoded), JSON.stringify({ sent: plan.schema, encoded })).toBe(
            true,
          );
        }
        expectSameUpToNulls(restored, answer);
        expect(validatorFor(schema)(restored)).toBe(true);
        // Restoring is stable: a restored answer sent again comes back the same.
        expect(plan.restore(plan.encode(restored))).toEqual(restored);
      }),
      { numRuns: 400 },
    );
  });

  it('property: any answer to the strict schema, restored, fits the original (when nothing was dropped)', () => {
    fc.assert(
      fc.property(simpleSchema, fc.integer(), (schema, seed) => {
        const plan = toStrictSchema(schema);
        fc.pre(plan.strict && plan.dropped.length === 0);
        // A model's answer: sampled from what was sent (nullable fields come out as either branch).
        const modelAnswer = sampleFromSchema(flipNullables(plan.schema, seed), mulberry32(seed));
        fc.pre(validatorFor(plan.schema)(modelAnswer));
        const restored = plan.restore(modelAnswer);
        expect(validatorFor(schema)(restored), JSON.stringify({ schema, modelAnswer, restored })).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});

/**
 * The answer came back as it was, except that an optional key whose schema allows null, absent from
 * the original answer, may come back as null (a strict model cannot leave it out).
 */
function expectSameUpToNulls(restored: unknown, answer: unknown, path = '/'): void {
  if (Array.isArray(answer)) {
    expect(Array.isArray(restored), path).toBe(true);
    expect((restored as unknown[]).length, path).toBe(answer.length);
    for (const [i, item] of answer.entries())
      expectSameUpToNulls((restored as unknown[])[i], item, `${path}${i}/`);
    return;
  }
  if (typeof answer === 'object' && answer !== null) {
    const back = restored as Schema;
    for (const key of Object.keys(answer))
      expectSameUpToNulls(back[key], (answer as Schema)[key], `${path}${key}/`);
    for (const key of Object.keys(back)) if (!(key in answer)) expect(back[key], `${path}${key}`).toBeNull();
    return;
  }
  expect(restored, path).toEqual(answer);
}

/** Puts `{type: null}` first in some nullable wrappers, so the sampler (which takes the first branch) answers null there. */
function flipNullables(schema: unknown, seed: number): Schema {
  const random = mulberry32(seed ^ 0x5f3759df);
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== 'object' || node === null) return node;
    const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, visit(v)]));
    if (Array.isArray(out.anyOf) && out.anyOf.length === 2 && random() < 0.5)
      out.anyOf = [...out.anyOf].reverse();
    return out;
  };
  return visit(schema) as Schema;
}
