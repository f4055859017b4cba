import { describe, expect, it } from 'vitest';
import { form } from '../../../shared/steps/form.js';
import { execute, NOW, resume, waitOf } from './context.js';

const signup = {
  title: 'Sign up',
  fields: [
    { key: 'email', type: 'string', required: true, pattern: '^[^@\\s]+@[^@\\s]+$', label: 'E-mail' },
    { key: 'plan', type: 'string', enum: ['free', 'pro'], default: 'free' },
    { key: 'seats', type: 'integer', min: 1, max: 50 },
    { key: 'newsletter', type: 'boolean' },
  ],
  timeout_s: 3600,
};

async function answer(inputs: unknown, config: unknown = signup) {
  const wait = await waitOf(form, config);
  return resume(form, config, wait, { inputs });
}

describe('form.execute', () => {
  it('waits for a person with the public view of the fields', async () => {
    const wait = await waitOf(form, signup);
    expect(wait).toEqual({
      kind: 'form',
      until: new Date(NOW.getTime() + 3_600_000).toISOString(),
      timeout_outcome: 'timeout',
      data: {
        title: 'Sign up',
        fields: [
          { key: 'email', type: 'string', required: true, pattern: '^[^@\\s]+@[^@\\s]+$', label: 'E-mail' },
          { key: 'plan', type: 'string', required: false, enum: ['free', 'pro'], default: 'free' },
          { key: 'seats', type: 'integer', required: false, min: 1, max: 50 },
          { key: 'newsletter', type: 'boolean', required: false },
        ],
      },
    });
  });

  it('waits without an end when there is no timeout_s', async () => {
    const wait = await waitOf(form, { fields: [{ key: 'note' }] });
    expect(wait.until).toBeUndefined();
    expect(wait.timeout_outcome).toBe('timeout');
  });

  it('fails without retry when rendered defaults do not fit their field', async () => {
    const config = { fields: [{ key: 'plan', enum: ['free', 'pro'], default: 'gold' }] };
    await expect(execute(form, config)).rejects.toMatchObject({ code: 'InvalidConfig', retryable: false });
  });
});

describe('form.resume', () => {
  it('completes with the checked values and the defaults of missing optional fields', async () => {
    const result = await answer({ email: 'ann@example.com', seats: 3 });
    expect(result).toEqual({
      status: 'completed',
      outcome: 'submitted',
      output: { email: 'ann@example.com', plan: 'free', seats: 3 },
    });
  });

  it('treats null and empty text as not given', async () => {
    const result = await answer({ email: 'ann@example.com', plan: '', newsletter: null });
    expect(result).toMatchObject({ output: { email: 'ann@example.com', plan: 'free' } });
  });

  it('refuses with one issue per field, in words a person understands', async () => {
    const result = await answer({ plan: 'gold', seats: 2.5, newsletter: 'yes', extra: 1 });
    expect(result).toMatchObject({ status: 422 });
    expect(result).toHaveProperty('issues', [
      { path: 'inputs.email', message: 'E-mail is required' },
      { path: 'inputs.plan', message: 'plan must be one of free, pro' },
      { path: 'inputs.seats', message: 'seats must be a whole number' },
      { path: 'inputs.newsletter', message: 'newsletter must be true or false' },
      { path: 'inputs.extra', message: 'extra is not a field of this form' },
    ]);
  });

  it.each([
    [{ key: 'n', type: 'number', min: 1, max: 10 }, 0.5, 'n must be at least 1'],
    [{ key: 'n', type: 'number', min: 1, max: 10 }, 11, 'n must be at most 10'],
    [{ key: 'n', type: 'number' }, '42', 'n must be a number'],
    [{ key: 's', min: 2 }, 'a', 's must be at least 2 characters long'],
    [{ key: 's', max: 1 }, 'ab', 's must be at most 1 character long'],
    [{ key: 'l', type: 'array', min: 1 }, [], 'l must have at least 1 item'],
    [{ key: 'l', type: 'array', max: 2 }, [1, 2, 3], 'l must have at most 2 items'],
    [{ key: 'o', type: 'object' }, [1], 'o must be an object'],
    [{ key: 'l', type: 'array' }, { a: 1 }, 'l must be a list'],
    [{ key: 'code', pattern: '^[A-Z]{3}$' }, 'abc', 'code is not in the expected format (^[A-Z]{3}$)'],
  ])('checks %o against %o', async (field, value, message) => {
    const result = await answer({ [field.key]: value }, { fields: [field] });
    expect(result).toHaveProperty('issues', [{ path: `inputs.${field.key}`, message }]);
  });

  it('counts string lengths in characters, not UTF-16 units', async () => {
    const result = await answer({ s: '😀😀' }, { fields: [{ key: 's', max: 2 }] });
    expect(result).toMatchObject({ status: 'completed', output: { s: '😀😀' } });
  });

  it('compares enum options by value, objects included', async () => {
    const config = { fields: [{ key: 'size', type: 'object', enum: [{ w: 1, h: 2 }] }] };
    expect(await answer({ size: { h: 2, w: 1 } }, config)).toMatchObject({ status: 'completed' });
  });

  it('checks an answer against a pattern in linear time (16.7 s on 29 characters with backtracking)', async () => {
    const config = { fields: [{ key: 'name', required: true, pattern: '^(\\p{L}+)+$' }] };
    const start = performance.now();
    const result = await answer({ name: `${'é'.repeat(29)}!` }, config);
    expect(performance.now() - start).toBeLessThan(1000);
    expect(result).toMatchObject({ status: 422, issues: [{ path: 'inputs.name' }] });
    expect(await answer({ name: 'Ærøskøbing' }, config)).toMatchObject({ status: 'completed' });
  });

  it('searches the pattern like JSON Schema: unanchored unless anchored', async () => {
    const config = { fields: [{ key: 'ref', pattern: '\\d{3}' }] };
    expect(await answer({ ref: 'REF-123' }, config)).toMatchObject({ status: 'completed' });
  });

  it('keeps a field called __proto__ as an ordinary value', async () => {
    const result = await answer(JSON.parse('{"__proto__": "x"}'), { fields: [{ key: '__proto__' }] });
    expect(result).toMatchObject({ status: 'completed' });
    if (result.status !== 'completed') throw new Error('expected completed');
    expect(Object.keys(result.output as object)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(result.output)).toBe(Object.prototype);
  });

  it('accepts an answer without inputs when every field is optional', async () => {
    const config = { fields: [{ key: 'note', default: 'none' }] };
    const wait = await waitOf(form, config);
    expect(resume(form, config, wait, {})).toMatchObject({ output: { note: 'none' } });
    expect(resume(form, config, wait, { step_id: 'collect', inputs: {} })).toMatchObject({
      status: 'completed',
    });
  });

  it('refuses answers that are not {inputs: {...}}', async () => {
    const wait = await waitOf(form, signup);
    expect(resume(form, signup, wait, { email: 'ann@example.com' })).toMatchObject({
      status: 422,
      issues: [{ path: 'email' }],
    });
    expect(resume(form, signup, wait, { inputs: ['x'] })).toMatchObject({
      status: 422,
      issues: [{ path: 'inputs' }],
    });
    expect(resume(form, signup, wait, 'x')).toMatchObject({ status: 422 });
  });

  it('checks answers against the fields as rendered when the form opened', async () => {
    const written = { fields: [{ key: 'plan', enum: ['{{ static.plans }}'] }] };
    const wait = {
      kind: 'form',
      timeout_outcome: 'timeout',
      data: { fields: [{ key: 'plan', type: 'string', required: false, enum: ['basic'] }] },
    };
    expect(resume(form, written, wait, { inputs: { plan: 'basic' } })).toMatchObject({ status: 'completed' });
  });
});

describe('form.check', () => {
  const check = (fields: unknown[]) => form.check!(form.config.parse({ fields }));

  it('accepts consistent fields', () => {
    expect(check(signup.fields)).toEqual([]);
  });

  it('reports duplicate keys', () => {
    expect(check([{ key: 'a' }, { key: 'b' }, { key: 'a' }])).toEqual([
      { path: 'fields[2].key', message: "duplicate key 'a': fields[0] has it too" },
    ]);
  });

  it('reports patterns that do not compile, or on fields that are not text', () => {
    expect(check([{ key: 'a', pattern: '(' }])).toMatchObject([{ path: 'fields[0].pattern' }]);
    expect(check([{ key: 'a', type: 'number', pattern: '\\d' }])).toMatchObject([
      { path: 'fields[0].pattern', message: 'pattern applies only to string fields, not number' },
    ]);
  });

  it('reports patterns that need backtracking, which the linear-time engine does not run', () => {
    expect(check([{ key: 'a', pattern: '^(\\w+)\\1$' }])).toEqual([
      {
        path: 'fields[0].pattern',
        message:
          "/^(\\w+)\\1$/ is not supported by the linear-time regex engine: backreferences need backtracking (at '\\1')",
      },
    ]);
    expect(check([{ key: 'a', pattern: '^(?=.*\\d).{8,}$' }])).toMatchObject([
      { path: 'fields[0].pattern', message: expect.stringContaining('lookahead') },
    ]);
  });

  it('reads patterns with the u flag, or without it where only that is valid', () => {
    expect(
      check([
        { key: 'a', pattern: '^\\p{Lu}\\p{Ll}+$' },
        { key: 'b', pattern: '^[\\w\\_.-]+$' },
      ]),
    ).toEqual([]);
  });

  it('reports bounds that cannot hold', () => {
    expect(check([{ key: 'a', type: 'number', min: 5, max: 1 }])).toEqual([
      { path: 'fields[0].min', message: 'min (5) is greater than max (1)' },
    ]);
    expect(check([{ key: 'a', min: 1.5 }])).toMatchObject([{ path: 'fields[0].min' }]);
    expect(check([{ key: 'a', type: 'boolean', max: 1 }])).toMatchObject([{ path: 'fields[0].max' }]);
  });

  it('reports defaults and options that do not fit their own field', () => {
    expect(check([{ key: 'plan', enum: ['free', 'pro'], default: 'gold' }])).toEqual([
      {
        path: 'fields[0].default',
        message: 'the default does not fit its field: plan must be one of free, pro',
      },
    ]);
    expect(check([{ key: 'n', type: 'integer', enum: [1, 'two'] }])).toMatchObject([
      { path: 'fields[0].enum[1]' },
    ]);
    expect(check([{ key: 'n', type: 'integer', min: 3, default: 1 }])).toMatchObject([
      { path: 'fields[0].default' },
    ]);
  });

  it('leaves values with placeholders to be checked when the step runs', () => {
    expect(check([{ key: 'email', pattern: '^\\S+@\\S+$', default: '{{ inputs.email }}' }])).toEqual([]);
  });
});
