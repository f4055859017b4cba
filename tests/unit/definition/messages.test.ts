/** Validator messages that say how to fix the mistake (issue 14, item 7). */
import { describe, expect, it } from 'vitest';
import { parseDocument } from '../../../shared/definition/parse.js';
import { editDistance, nearestName } from '../../../shared/definition/suggest.js';
import { validateWorkflow } from '../../../shared/definition/validate.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { errorsOf, problemsOf, workflowWith } from './helpers.js';

const knownTypes = createStepRegistry().names().join(', ');

describe('an unquoted {{ }} at the start of a YAML value', () => {
  const yaml = [
    'schema_version: "1.0"',
    'id: demo',
    'steps:',
    '  - id: a',
    '    type: transform',
    '    config:',
    '      output: {{ inputs.x }}  # the placeholder',
    '    next: missing',
    '  - id: b',
    '    type: api_call',
    '    config: { method: GET, url: {{ inputs.base }}/items, timeout_s: -1 }',
    '',
  ].join('\n');

  it('explains the quoting fix at the value, with its line and column, instead of the YAML error', () => {
    const errors = errorsOf(yaml);
    expect(errors.map((e) => e.message).join('\n')).not.toMatch(/stringKeys/);
    expect(errors).toContainEqual({
      path: 'steps[0].config.output',
      message:
        'YAML reads a value that starts with {{ as a mapping, not a placeholder: quote the whole value (output: "{{ inputs.x }}")',
      line: 7,
      column: 15,
    });
    expect(errors).toContainEqual(
      expect.objectContaining({
        path: 'steps[1].config.url',
        message: expect.stringContaining('(url: "{{ inputs.base }}/items")'),
        line: 11,
        column: 33,
      }),
    );
  });

  it('still reports every other problem of the document', () => {
    const problems = problemsOf(yaml);
    expect(problems).toContainEqual(expect.stringMatching(/^steps\[0\]\.next: unknown step 'missing'/));
    expect(problems).toContainEqual(expect.stringMatching(/^steps\[1\]\.config\.timeout_s: /));
    expect(validateWorkflow(yaml).valid).toBe(false);
  });

  it('reads the document as if the values were quoted, and leaves quoted ones alone', () => {
    const parsed = parseDocument('a: {{ x }}\nb:\n  - {{ y }} and {{ z }}\nc: "{{ w }}"\n');
    expect(parsed.value).toEqual({ a: '{{ x }}', b: ['{{ y }} and {{ z }}'], c: '{{ w }}' });
    expect(parsed.issues.map((i) => [i.path, i.line, i.column])).toEqual([
      ['a', 1, 4],
      ['b[0]', 3, 5],
    ]);
    expect(parseDocument('c: "{{ w }}"\nd: { e: 1 }\n').issues).toEqual([]);
  });
});

describe('a when written as a {{ }} template', () => {
  it('suggests removing the braces', () => {
    const step = { id: 'c', type: 'conditional', config: { when: '{{ inputs.n > 1 }}' } };
    expect(problemsOf(workflowWith([step]))).toEqual([
      'steps[0].config.when: when is a JSONata expression already, not a {{ }} template: remove the braces (when: "inputs.n > 1")',
    ]);
  });

  it('says the same for each case of cases, and accepts an expression without braces', () => {
    const step = {
      id: 'c',
      type: 'conditional',
      config: { cases: { big: '{{ inputs.n > 9 }}', small: 'inputs.n < 2' } },
    };
    expect(problemsOf(workflowWith([step]))).toEqual([
      'steps[0].config.cases.big: cases is a JSONata expression already, not a {{ }} template: remove the braces ("inputs.n > 9")',
    ]);
  });
});

describe('an unknown step type', () => {
  it('suggests the nearest known type', () => {
    const step = { id: 'a', type: 'transfrom', config: { output: 1 } };
    expect(problemsOf(workflowWith([step]))).toEqual([
      `steps[0].type: unknown step type 'transfrom'; did you mean 'transform'? known types: ${knownTypes}`,
    ]);
    const other = { id: 'a', type: 'api-call', config: {} };
    expect(problemsOf(workflowWith([other]))[0]).toMatch(/did you mean 'api_call'\?/);
  });

  it('suggests the nearest action type for a compensate action', () => {
    const step = {
      id: 'a',
      type: 'transform',
      config: { output: 1 },
      compensate: { type: 'apicall', config: { method: 'POST', url: 'https://example.com' } },
    };
    expect(problemsOf(workflowWith([step]))[0]).toMatch(
      /^steps\[0\]\.compensate\.type: unknown action type 'apicall'; did you mean 'api_call'\?/,
    );
  });

  it('lists the types without a guess when nothing is close', () => {
    const step = { id: 'a', type: 'sms', config: {} };
    expect(problemsOf(workflowWith([step]))).toEqual([
      `steps[0].type: unknown step type 'sms'; known types: ${knownTypes}`,
    ]);
  });
});

describe('edit distance', () => {
  it('counts a swap of neighbouring letters as one edit', () => {
    expect(editDistance('transfrom', 'transform')).toBe(1);
    expect(editDistance('form', 'from')).toBe(1);
    expect(editDistance('wait', 'wait')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  it('suggests only near misses', () => {
    expect(nearestName('aproval', ['approval', 'form'])).toBe('approval');
    expect(nearestName('email', ['approval', 'form'])).toBeUndefined();
  });
});
