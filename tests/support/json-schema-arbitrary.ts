/**
 * fast-check arbitraries from the JSON Schemas of an OpenAPI document — which the API generates from
 * its zod schemas — so a test can send every operation values its own schemas allow. Covers what
 * those schemas use (objects, arrays, strings with lengths, patterns and date-times, bounded numbers,
 * enums, constants, unions, references); anything else is any JSON value.
 */
import fc from 'fast-check';

export type JsonSchema = Record<string, unknown>;

export interface SchemaContext {
  /** The document `#/components/schemas/...` references point into. */
  document: { components?: { schemas?: Record<string, JsonSchema> } };
  /** How deep nested objects and arrays may go. */
  maxDepth?: number;
}

const COMPONENTS = '#/components/schemas/';

function resolve(schema: JsonSchema, context: SchemaContext): JsonSchema {
  const ref = schema.$ref;
  if (typeof ref !== 'string') return schema;
  if (!ref.startsWith(COMPONENTS)) throw new Error(`Unsupported $ref ${ref}`);
  const target = context.document.components?.schemas?.[ref.slice(COMPONENTS.length)];
  if (!target) throw new Error(`Unknown $ref ${ref}`);
  return resolve(target, context);
}

export function arbitraryFor(schema: JsonSchema, context: SchemaContext, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema, context);
  const maxDepth = context.maxDepth ?? 3;
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const options = s[key];
    if (Array.isArray(options))
      return fc.oneof(...options.map((o) => arbitraryFor(o as JsonSchema, context, depth)));
  }
  if (Array.isArray(s.type)) {
    return fc.oneof(...(s.type as string[]).map((type) => arbitraryFor({ ...s, type }, context, depth)));
  }
  switch (s.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer': {
      const min = typeof s.minimum === 'number' ? s.minimum : -1_000_000;
      const max = typeof s.maximum === 'number' ? s.maximum : 1_000_000;
      return fc.integer({ min: Math.max(min, -1_000_000_000), max: Math.min(max, 1_000_000_000) });
    }
    case 'number':
      return fc.double({
        min: typeof s.minimum === 'number' ? s.minimum : -1e9,
        max: typeof s.maximum === 'number' ? s.maximum : 1e9,
        noNaN: true,
        noDefaultInfinity: true,
      });
    case 'string':
      return stringFor(s);
    case 'array': {
      if (depth >= maxDepth) return fc.constant([]);
      const items = (s.items as JsonSchema | undefined) ?? {};
      return fc.array(arbitraryFor(items, context, depth + 1), {
        minLength: typeof s.minItems === 'number' ? s.minItems : 0,
        maxLength: Math.min(typeof s.maxItems === 'number' ? s.maxItems : 3, 3),
      });
    }
    case 'object':
      return objectFor(s, context, depth);
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function stringFor(s: JsonSchema): fc.Arbitrary<string> {
  if (s.format === 'date-time') {
    return fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2100-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  }
  const minLength = typeof s.minLength === 'number' ? s.minLength : 0;
  const maxLength = Math.min(typeof s.maxLength === 'number' ? s.maxLength : 40, 80);
  if (typeof s.pattern === 'string') {
    return fc
      .stringMatching(new RegExp(s.pattern))
      .filter((text) => text.length >= minLength && text.length <= maxLength);
  }
  return fc.string({ minLength, maxLength, unit: 'grapheme' });
}

function objectFor(s: JsonSchema, context: SchemaContext, depth: number): fc.Arbitrary<unknown> {
  const properties = (s.properties as Record<string, JsonSchema> | undefined) ?? {};
  const required = (s.required as string[] | undefined) ?? [];
  if (Object.keys(properties).length === 0) {
    if (s.additionalProperties === false || depth >= (context.maxDepth ?? 3)) return fc.constant({});
    return fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), {
      maxKeys: 3,
    });
  }
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties))
    record[name] = arbitraryFor(property, context, depth + 1);
  return fc.record(record, { requiredKeys: required.filter((name) => name in properties) });
}

/**
 * Values the schema refuses, made from valid ones: a required property left out, a property of the
 * wrong type, a property the schema does not know (when it is closed), or not an object at all.
 */
export function invalidObjectFor(
  schema: JsonSchema,
  context: SchemaContext,
): fc.Arbitrary<unknown> | undefined {
  const s = resolve(schema, context);
  if (s.type !== 'object') return undefined;
  const properties = (s.properties as Record<string, JsonSchema> | undefined) ?? {};
  const required = (s.required as string[] | undefined) ?? [];
  const valid = arbitraryFor(s, context) as fc.Arbitrary<Record<string, unknown>>;
  const mutations: Array<fc.Arbitrary<unknown>> = [fc.constantFrom<unknown>([], 'text', 42, null, true)];
  if (required.length > 0) {
    mutations.push(
      fc.tuple(valid, fc.constantFrom(...required)).map(([value, name]) => {
        const { [name]: _dropped, ...rest } = value;
        return rest;
      }),
    );
  }
  const typed = Object.entries(properties).filter(([, p]) => typeof resolve(p, context).type === 'string');
  if (typed.length > 0) {
    mutations.push(
      fc.tuple(valid, fc.constantFrom(...typed)).map(([value, [name, property]]) => ({
        ...value,
        [name]: resolve(property, context).type === 'string' ? 12345 : 'not-of-this-type',
      })),
    );
  }
  if (s.additionalProperties === false) {
    mutations.push(valid.map((value) => ({ ...value, unexpected_field: 'x' })));
  }
  return fc.oneof(...mutations);
}
