import { describe, expect, it } from 'vitest';
import { checkJsonAnswer, parseJsonText, validatorFor } from '../../../shared/json-schema/index.js';

const mail = {
  type: 'object',
  required: ['subject', 'body'],
  properties: { subject: { type: 'string' }, body: { type: 'string' }, tone: { enum: ['warm', 'formal'] } },
  additionalProperties: false,
};

describe('parseJsonText', () => {
  it.each([
    ['{"a":1}', { a: 1 }],
    ['  [1, 2]\n', [1, 2]],
    ['```json\n{"a":1}\n```', { a: 1 }],
    ['Here it is:\n```\n{"a":2}\n```\nAnything else?', { a: 2 }],
    ['```JSON {"a":3} ```', { a: 3 }],
  ])('reads %j', (text, value) => {
    expect(parseJsonText(text)).toEqual({ ok: true, value });
  });

  it('reports text that holds no JSON, without quoting it', () => {
    expect(parseJsonText('Dear Ann, welcome!')).toEqual({ ok: false, tooDeep: false });
  });

  it('reads no JSON nested more than 1,000 levels deep, whole or fenced, and says so', () => {
    const deep = `${'['.repeat(1_001)}${']'.repeat(1_001)}`;
    expect(parseJsonText(deep)).toEqual({ ok: false, tooDeep: true });
    expect(parseJsonText(`Here:\n\`\`\`json\n${deep}\n\`\`\``)).toEqual({ ok: false, tooDeep: true });
    expect(parseJsonText(`${'['.repeat(1_000)}${']'.repeat(1_000)}`)).toMatchObject({ ok: true });
  });
});

describe('checkJsonAnswer', () => {
  const validate = validatorFor(mail);

  it('accepts an answer valid against the schema', () => {
    expect(checkJsonAnswer('{"subject":"Hi","body":"Welcome"}', validate)).toEqual({
      ok: true,
      value: { subject: 'Hi', body: 'Welcome' },
    });
  });

  it('lists where the answer breaks the schema, naming keys and allowed values but not the content', () => {
    const answer = checkJsonAnswer('{"subject":"Secret Ann","tone":"cold","x":1}', validate);
    expect(answer).toEqual({
      ok: false,
      notJson: false,
      issues: [
        { path: '/', message: "must have required property 'body'" },
        { path: '/', message: "must NOT have additional properties: 'x'" },
        { path: '/tone', message: 'must be equal to one of the allowed values: ["warm","formal"]' },
      ],
    });
    expect(JSON.stringify(answer)).not.toContain('Secret Ann');
  });

  it('tells an answer that is not JSON apart', () => {
    expect(checkJsonAnswer('Sure! Subject: hi', validate)).toEqual({
      ok: false,
      notJson: true,
      issues: [{ path: '/', message: 'the answer is not JSON' }],
    });
  });
});

describe('validatorFor', () => {
  it('compiles a schema once and reuses the validator', () => {
    expect(validatorFor({ ...mail })).toBe(validatorFor({ ...mail }));
  });

  it('lets different schemas share an $id', () => {
    const a = validatorFor({ $id: 'https://example.com/answer', type: 'string' });
    const b = validatorFor({ $id: 'https://example.com/answer', type: 'number' });
    expect([a('x'), b('x'), b(1)]).toEqual([true, false, true]);
  });

  it('stays usable after many schemas pushed older ones out of its cache', () => {
    const first = { type: 'integer', minimum: -1 };
    for (let i = 0; i < 250; i++) validatorFor({ type: 'integer', minimum: i });
    expect(validatorFor(first)(-1)).toBe(true);
  });

  it('fails a schema that does not compile with a non-retryable InvalidJsonSchema', () => {
    expect(() => validatorFor({ type: 'nonsense' })).toThrow(
      expect.objectContaining({ code: 'InvalidJsonSchema', retryable: false }),
    );
  });
});

describe('checkJsonAnswer: a schema that refers to itself without end', () => {
  it('fails with InvalidJsonSchema, not a stack overflow, on an answer that reaches the loop', () => {
    // Two levels down: the check when the schema is compiled tries values one level deep.
    const schema = {
      type: 'object',
      properties: { a: { properties: { b: { $ref: '#/$defs/loop' } } } },
      $defs: { loop: { allOf: [{ $ref: '#/$defs/loop' }] } },
    };
    const validate = validatorFor(schema);
    expect(checkJsonAnswer('{"a":{}}', validate)).toEqual({ ok: true, value: { a: {} } });
    expect(() => checkJsonAnswer('{"a":{"b":1}}', validate)).toThrow(
      expect.objectContaining({
        code: 'InvalidJsonSchema',
        retryable: false,
        message: expect.stringMatching(/refers to itself without end/),
      }),
    );
  });

  it('refuses such a schema when it is compiled, when a small value reaches the loop', () => {
    for (const schema of [
      { $dynamicRef: '#meta' },
      { $id: 'https://x.example/y', $ref: '#' },
      { $dynamicAnchor: 'm', $dynamicRef: '#m' },
      { type: 'array', items: { $ref: '#/items' } },
    ]) {
      expect(() => validatorFor(schema)).toThrow(
        expect.objectContaining({
          code: 'InvalidJsonSchema',
          message: 'json_schema is not a valid JSON Schema: the schema refers to itself without end',
        }),
      );
    }
  });
});
