/** fast-check generators shared by the AI tests. */
import fc from 'fast-check';

type Schema = Record<string, unknown>;

/** Random simple schemas: scalars with bounds, enums, and objects and arrays nesting them. */
export const simpleSchema: fc.Arbitrary<Schema> = fc.letrec<{
  schema: Schema;
  leaf: Schema;
  object: Schema;
  array: Schema;
}>((tie) => ({
  schema: fc.oneof(
    { maxDepth: 3, depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    tie('object'),
    tie('array'),
  ),
  leaf: fc.oneof(
    fc.record({ minLength: fc.nat(5), extra: fc.nat(10) }).map(({ minLength, extra }) => ({
      type: 'string',
      minLength,
      maxLength: minLength + extra,
    })),
    fc.constantFrom<Schema>(
      { type: 'string', format: 'email' },
      { type: 'string', format: 'date-time' },
      { type: 'string', format: 'uri' },
      { type: 'string', pattern: '^[A-Z]{3}-\\d{2,4}$' },
      { type: 'string' },
      { type: 'boolean' },
      { type: 'null' },
    ),
    fc
      .record({ min: fc.integer({ min: -1000, max: 1000 }), span: fc.nat(500), exclusive: fc.boolean() })
      .map(({ min, span, exclusive }) =>
        exclusive
          ? { type: 'number', exclusiveMinimum: min, exclusiveMaximum: min + span + 1 }
          : { type: 'number', minimum: min, maximum: min + span },
      ),
    fc
      .record({
        min: fc.integer({ min: -1000, max: 1000 }),
        span: fc.nat(500),
        step: fc.integer({ min: 1, max: 7 }),
      })
      .map(({ min, span, step }) => ({
        type: 'integer',
        minimum: min,
        maximum: min + span + step,
        multipleOf: step,
      })),
    fc.record({ min: fc.double({ min: -10, max: 10, noNaN: true }) }).map(({ min }) => ({
      type: 'number',
      minimum: min,
      maximum: min + 0.5,
    })),
    fc
      .uniqueArray(fc.oneof(fc.string(), fc.integer(), fc.boolean()), { minLength: 1, maxLength: 5 })
      .map((values) => ({
        enum: values,
      })),
  ),
  object: fc
    .record({
      properties: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,8}$/), tie('schema'), { maxKeys: 5 }),
      requiredShare: fc.double({ min: 0, max: 1, noNaN: true }),
      closed: fc.boolean(),
    })
    .map(({ properties, requiredShare, closed }) => {
      const keys = Object.keys(properties);
      return {
        type: 'object',
        properties,
        required: keys.slice(0, Math.round(keys.length * requiredShare)),
        ...(closed ? { additionalProperties: false } : {}),
      };
    }),
  array: fc
    .record({ items: tie('schema'), minItems: fc.nat(3), extra: fc.nat(3) })
    .map(({ items, minItems, extra }) => ({ type: 'array', items, minItems, maxItems: minItems + extra })),
})).schema;
