/**
 * JSON Schemas that refer to themselves: one that does so without end is refused when the workflow
 * is validated (it passed, then overflowed the stack on every run), and the standard recursive
 * schema (`$ref: "#"` without an `$id`) is accepted.
 */
import { describe, expect, it } from 'vitest';
import { errorsOf, transformStep, workflowWith } from './helpers.js';

const generate = (json_schema: unknown) => ({
  id: 'a',
  type: 'ai_generate',
  config: { prompt: 'hi', json_schema },
});

const endless: Array<[string, Record<string, unknown>]> = [
  ['a $dynamicRef to a missing anchor', { $dynamicRef: '#meta' }],
  ['a $ref to its own $id', { $id: 'https://x.example/y', $ref: '#' }],
  ['a $dynamicRef to its own anchor', { $dynamicAnchor: 'm', $dynamicRef: '#m' }],
  ['a property that is itself', { type: 'object', properties: { a: { $ref: '#/properties/a' } } }],
];

const tree = { type: 'object', properties: { children: { type: 'array', items: { $ref: '#' } } } };

describe('validateWorkflow › recursive JSON Schemas', () => {
  it.each(endless)('refuses inputs with %s', (_name, inputs) => {
    expect(errorsOf(workflowWith([transformStep('a')], { inputs }))).toEqual([
      {
        path: 'inputs',
        message: 'is not a usable JSON Schema (2020-12): the schema refers to itself without end',
      },
    ]);
  });

  it.each(endless)('refuses a json_schema with %s', (_name, schema) => {
    expect(errorsOf(workflowWith([generate(schema)]))).toEqual([
      {
        path: 'steps[0].config.json_schema',
        message: 'is not a usable JSON Schema (2020-12): the schema refers to itself without end',
      },
    ]);
  });

  it('accepts a schema that refers to itself by "#" without an $id, as 2020-12 allows', () => {
    expect(errorsOf(workflowWith([generate(tree)], { inputs: tree }))).toEqual([]);
  });
});
