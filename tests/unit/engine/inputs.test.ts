import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import { checkRunInputs, MAX_INPUT_ISSUE_LENGTH, MAX_INPUT_ISSUES } from '../../../shared/engine/inputs.js';

/** A definition as a store hands it out: a new object on every read. */
const read = (): WorkflowDefinition => ({
  schema_version: '1.0',
  id: 'wf',
  inputs: { $id: 'urn:example:inputs', type: 'object', required: ['customer'] },
  steps: [{ id: 'a', type: 'transform', config: { output: 1 } }],
});

describe('checkRunInputs', () => {
  it('checks inputs of definitions read again and again, even when their schema has an $id', () => {
    for (let i = 0; i < 3; i++) {
      expect(checkRunInputs(read(), { customer: 'Ada' })).toEqual([]);
      expect(checkRunInputs(read(), {})).toEqual([{ path: 'inputs.customer', message: 'is required' }]);
    }
  });
});

describe('checkRunInputs: a bounded answer', () => {
  const withInputs = (inputs: Record<string, unknown>): WorkflowDefinition => ({ ...read(), inputs });

  it('lists at most 100 problems, each cut short, and says how many more there were', () => {
    // A 50 KB body gave a 90 MB answer before: every item's message repeated the whole pattern.
    const pattern = `^[${'a'.repeat(10_000)}]$`;
    const issues = checkRunInputs(
      withInputs({
        type: 'object',
        properties: { xs: { type: 'array', items: { type: 'string', pattern } } },
      }),
      { xs: Array.from({ length: 5_000 }, () => 'x') },
    );
    expect(issues).toHaveLength(MAX_INPUT_ISSUES + 1);
    expect(issues[0]?.path).toBe('inputs.xs.0');
    expect(issues[0]?.message).toMatch(/^must match pattern "\^\[aaa+…$/);
    for (const issue of issues) expect(issue.message.length).toBeLessThanOrEqual(MAX_INPUT_ISSUE_LENGTH + 1);
    expect(issues.at(-1)).toEqual({ path: 'inputs', message: '4900 more problems are not listed' });
  });

  it('cuts long paths short too', () => {
    const key = 'k'.repeat(100_000);
    const issues = checkRunInputs(withInputs({ type: 'object', additionalProperties: { type: 'integer' } }), {
      [key]: 'not a number',
    });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path.length).toBeLessThanOrEqual(MAX_INPUT_ISSUE_LENGTH + 1);
    expect(issues[0]?.path).toMatch(/^inputs\.kkk+…$/);
  });

  it('lists every problem when there are no more than 100', () => {
    const issues = checkRunInputs(
      withInputs({ type: 'object', properties: { xs: { type: 'array', items: { type: 'integer' } } } }),
      { xs: Array.from({ length: MAX_INPUT_ISSUES }, () => 'x') },
    );
    expect(issues).toHaveLength(MAX_INPUT_ISSUES);
    expect(issues.at(-1)).toEqual({ path: `inputs.xs.${MAX_INPUT_ISSUES - 1}`, message: 'must be integer' });
  });
});

describe('checkRunInputs: recursive schemas', () => {
  const withInputs = (inputs: Record<string, unknown>): WorkflowDefinition => ({ ...read(), inputs });

  it('refuses the inputs, rather than failing, when a stored schema refers to itself without end', () => {
    // A stack overflow (a 500 on every start) before.
    for (const inputs of [
      { $id: 'https://x.example/y', $ref: '#' },
      { type: 'object', properties: { a: { $ref: '#/properties/a' } } },
      // Beyond the check made when the schema is compiled: only `a.b` reaches the loop.
      {
        type: 'object',
        properties: { a: { properties: { b: { $ref: '#/$defs/loop' } } } },
        $defs: { loop: { allOf: [{ $ref: '#/$defs/loop' }] } },
      },
    ]) {
      expect(checkRunInputs(withInputs(inputs), { a: { b: 1 } })).toEqual([
        { path: 'inputs', message: expect.stringMatching(/refers to itself without end/) },
      ]);
    }
  });

  it('checks inputs against a tree schema that refers to itself by "#"', () => {
    const tree = { type: 'object', properties: { children: { type: 'array', items: { $ref: '#' } } } };
    expect(checkRunInputs(withInputs(tree), { children: [{ children: [] }, {}] })).toEqual([]);
    expect(checkRunInputs(withInputs(tree), { children: [{ children: [1] }] })).toEqual([
      { path: 'inputs.children.0.children.0', message: 'must be object' },
    ]);
  });
});
