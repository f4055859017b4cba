/** The placeholder grammar: splitting strings into text and `{{ }}` expressions, and finding them in configs. */
import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../shared/errors.js';
import { hasPlaceholder, parseTemplate, templateExpressions } from '../../../shared/expressions/index.js';

describe('parseTemplate', () => {
  it('splits literal text and placeholders, trimming the expression and pointing at its start', () => {
    expect(parseTemplate('Hi {{ inputs.name }}!')).toEqual([
      { text: 'Hi ' },
      { expression: 'inputs.name', offset: 6 },
      { text: '!' },
    ]);
  });

  it('accepts placeholders without spaces and several in a row', () => {
    expect(parseTemplate('{{a}}{{ b }}')).toEqual([
      { expression: 'a', offset: 2 },
      { expression: 'b', offset: 8 },
    ]);
  });

  it('returns one text part for a string without placeholders', () => {
    expect(parseTemplate('plain {text} with } braces')).toEqual([{ text: 'plain {text} with } braces' }]);
  });

  it('returns no parts for the empty string', () => {
    expect(parseTemplate('')).toEqual([]);
  });

  it('ends the expression at the first }} outside a string literal', () => {
    expect(parseTemplate('{{ "}}" }}')).toEqual([{ expression: '"}}"', offset: 3 }]);
    expect(parseTemplate('{{ \'a}}b\' & "c\\"}}" }} tail')).toEqual([
      { expression: '\'a}}b\' & "c\\"}}"', offset: 3 },
      { text: ' tail' },
    ]);
  });

  it('treats a backquoted name as quoted', () => {
    expect(parseTemplate('{{ inputs.`odd}}name` }}')).toEqual([
      { expression: 'inputs.`odd}}name`', offset: 3 },
    ]);
  });

  it('does not nest: the first }} closes the placeholder', () => {
    expect(parseTemplate('{{ a {{ b }} }}')).toEqual([{ expression: 'a {{ b', offset: 3 }, { text: ' }}' }]);
  });

  it('keeps single braces and a lone }} in literal text', () => {
    expect(parseTemplate('{"json": true} }} {{ x }}')).toEqual([
      { text: '{"json": true} }} ' },
      { expression: 'x', offset: 21 },
    ]);
  });

  it('throws ExpressionSyntaxError for an unclosed {{, naming its offset', () => {
    const failure = (() => {
      try {
        parseTemplate('ok {{ fine }} then {{ broken');
      } catch (error) {
        return error;
      }
    })();
    expect(failure).toBeInstanceOf(ExpressionError);
    expect(failure).toMatchObject({
      code: 'ExpressionSyntaxError',
      expression: 'ok {{ fine }} then {{ broken',
    });
    expect((failure as Error).message).toMatch(/offset 19/);
  });

  it('throws for a placeholder whose string literal is never closed', () => {
    expect(() => parseTemplate('{{ "abc }}')).toThrow(/Unclosed placeholder/);
  });
});

describe('hasPlaceholder', () => {
  it('is true when the string opens a placeholder', () => {
    expect(hasPlaceholder('a {{ b }}')).toBe(true);
    expect(hasPlaceholder('a {{ unclosed')).toBe(true);
  });

  it('is false for text with single braces only', () => {
    expect(hasPlaceholder('{a} }}')).toBe(false);
  });
});

describe('templateExpressions', () => {
  it('lists every expression with the path of the string that holds it', () => {
    const config = {
      url: '/users/{{ inputs.id }}',
      body: { to: '{{ steps.collect.output.email }}', list: ['plain', '{{ a }} and {{ b }}'] },
      count: 3,
    };
    expect(templateExpressions(config, 'config')).toEqual([
      { path: 'config.url', expression: 'inputs.id' },
      { path: 'config.body.to', expression: 'steps.collect.output.email' },
      { path: 'config.body.list[1]', expression: 'a' },
      { path: 'config.body.list[1]', expression: 'b' },
    ]);
  });

  it('reports an unclosed placeholder with the whole string and a message instead of throwing', () => {
    const found = templateExpressions({ a: ['x {{ y'] }, 'config');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ path: 'config.a[0]', expression: 'x {{ y' });
    expect(found[0]?.error).toMatch(/Unclosed placeholder/);
  });

  it('starts paths at the root when the given path is empty', () => {
    expect(templateExpressions({ a: '{{ x }}' }, '')).toEqual([{ path: 'a', expression: 'x' }]);
    expect(templateExpressions('{{ x }}', 'output')).toEqual([{ path: 'output', expression: 'x' }]);
  });

  it('ignores keys and non-string values', () => {
    expect(templateExpressions({ '{{ key }}': 1, b: null, c: true }, 'config')).toEqual([]);
  });
});
