/**
 * The validator refuses every pattern the engine cannot run in linear time (issue 9, defect 4), where
 * it is written and saying why: JSON Schema `pattern`s and `patternProperties` (inputs, json_schema),
 * form field patterns and JSONata regex literals.
 */
import { describe, expect, it } from 'vitest';
import { errorsOf, transformStep, workflowWith } from './helpers.js';

const generate = (json_schema: unknown) => ({
  id: 'a',
  type: 'ai_generate',
  config: { prompt: 'hi', json_schema },
});
const form = (pattern: string) => ({ id: 'a', type: 'form', config: { fields: [{ key: 'code', pattern }] } });

describe('validateWorkflow › patterns', () => {
  it('refuses an inputs pattern that needs backtracking, at the pattern', () => {
    const inputs = { type: 'object', properties: { code: { type: 'string', pattern: '^(a+)\\1$' } } };
    expect(errorsOf(workflowWith([transformStep('a')], { inputs }))).toEqual([
      {
        path: 'inputs.properties.code.pattern',
        message:
          "/^(a+)\\1$/ is not supported by the linear-time regex engine: backreferences need backtracking (at '\\1')",
      },
    ]);
  });

  it('refuses json_schema patterns and patternProperties keys, each where it is', () => {
    const schema = {
      type: 'object',
      properties: {
        s: { type: 'string', pattern: '^(?!admin)\\w+$' },
        t: { type: 'string', pattern: '\\_' },
      },
      patternProperties: { '(?<=x)y': { type: 'string' } },
    };
    const errors = errorsOf(workflowWith([generate(schema)]));
    expect(errors.map((e) => e.path)).toEqual([
      'steps[0].config.json_schema.patternProperties["(?<=x)y"]',
      'steps[0].config.json_schema.properties.s.pattern',
      'steps[0].config.json_schema.properties.t.pattern',
    ]);
    expect(errors[0]?.message).toMatch(/lookbehind, \(\?<=…\) and \(\?<!…\), needs backtracking/);
    expect(errors[1]?.message).toMatch(/lookahead, \(\?=…\) and \(\?!…\), needs backtracking/);
    // JSON Schema patterns are read with the u flag, as Ajv compiles them.
    expect(errors[2]?.message).toBe('Invalid regular expression: /\\_/u: Invalid escape');
  });

  it('refuses a pattern too large to run in bounded time', () => {
    const errors = errorsOf(workflowWith([generate({ type: 'string', pattern: '(?:\\S{300})'.repeat(4) })]));
    expect(errors).toEqual([
      {
        path: 'steps[0].config.json_schema.pattern',
        message: expect.stringMatching(
          /is too large for the linear-time regex engine: it compiles to \d+ instructions/,
        ),
      },
    ]);
  });

  it('accepts the hostile but linear patterns of the issue', () => {
    const schema = { type: 'string', pattern: '^(a+)+$' };
    expect(errorsOf(workflowWith([generate(schema)], { inputs: schema }))).toEqual([]);
    expect(errorsOf(workflowWith([form('^(\\p{L}+)+$')]))).toEqual([]);
  });

  it('refuses a form field pattern that needs backtracking, and accepts one written without the u flag', () => {
    expect(errorsOf(workflowWith([form('^(?<w>\\w)\\k<w>$')]))).toEqual([
      {
        path: 'steps[0].config.fields[0].pattern',
        message: expect.stringContaining('backreferences need backtracking'),
      },
    ]);
    expect(errorsOf(workflowWith([form('^[\\w\\-\\.]+$')]))).toEqual([]);
    expect(errorsOf(workflowWith([form('^[a-z\\_]+$')]))).toEqual([]);
  });

  it('refuses a JSONata regex literal that needs backtracking, in the expression', () => {
    const step = { id: 'a', type: 'transform', config: { output: '{{ $contains(inputs.s, /(a)\\1/i) }}' } };
    const errors = errorsOf(workflowWith([step]));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe('steps[0].config.output');
    expect(errors[0]?.message).toMatch(/backreferences need backtracking/);
  });
});
