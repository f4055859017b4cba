import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { assertValidWorkflow, stepOutcomes, validateWorkflow } from '../../../shared/definition/validate.js';
import { ValidationError } from '../../../shared/errors.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { defineStepType } from '../../../shared/steps/types.js';
import { onboardingYaml, transformStep, workflowWith } from './helpers.js';

const fiveProblems = `schema_version: "1.0"
id: five
steps:
  - id: start
    type: transform
    config: { output: 1 }
    next: [call, nowhere]
  - id: call
    type: api_call
    config: { url: "/x", body: "{{ inputs. }}" }
    next: { approve: stop, success: stop }
  - id: stop
    type: fail
    config: { error: Stop }
    next: start
  - id: call
    type: transform
    config: { output: 1 }
`;

describe('validateWorkflow › reporting', () => {
  it('reports every problem, not only the first: five problems give five errors', () => {
    const errors = validateWorkflow(fiveProblems).errors;
    expect(errors.map((e) => `${e.path}@${e.line}`)).toEqual([
      'steps[0].next[1]@7',
      'steps[1].config.body@10',
      'steps[1].next.approve@11',
      'steps[2].next@15',
      'steps[3].id@16',
    ]);
  });

  it('gives every error a line and column when the input was text', () => {
    for (const error of validateWorkflow(fiveProblems).errors) {
      expect(error.line).toBeGreaterThan(0);
      expect(error.column).toBeGreaterThan(0);
    }
  });

  it('gives no line or column when the input was data', () => {
    const errors = validateWorkflow(workflowWith([transformStep('a', 'b')])).errors;
    expect(errors).toEqual([{ path: 'steps[0].next', message: "unknown step 'b'; the steps are: a" }]);
  });

  it('uses (root) only for the document itself', () => {
    expect(validateWorkflow('').errors).toEqual([{ path: '(root)', message: 'the document is empty' }]);
    expect(validateWorkflow(null).errors[0]?.path).toBe('(root)');
  });

  it('refuses __proto__ keys, and keeps checking the rest', () => {
    const errors = validateWorkflow(
      '{"schema_version": "1.0", "id": "a", "__proto__": {"x": 1}, "steps": []}',
    ).errors;
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([
      "__proto__: the key '__proto__' is not allowed",
      expect.stringMatching(/^steps: Too small/),
    ]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('refuses data that is not JSON: cycles, functions, dates, infinite numbers', () => {
    const cyclic: Record<string, unknown> = { schema_version: '1.0', id: 'a' };
    cyclic.steps = [cyclic];
    expect(validateWorkflow(cyclic).errors).toEqual([
      { path: 'steps[0]', message: 'the value contains itself (a circular reference)' },
    ]);
    expect(validateWorkflow({ a: () => 1, b: new Date(0), c: Number.POSITIVE_INFINITY }).errors).toEqual([
      { path: 'a', message: 'a function is not JSON data' },
      { path: 'b', message: 'a Date is not JSON data' },
      { path: 'c', message: 'Infinity is not a JSON number' },
    ]);
  });

  it('refuses a YAML alias that contains itself', () => {
    expect(validateWorkflow('a: &a [*a]\n').errors).toEqual([
      { path: 'a[0]', message: 'the value contains itself (a circular reference)', line: 1, column: 8 },
    ]);
  });

  it('caps the list of errors and says how many more there are', () => {
    const steps = Array.from({ length: 1500 }, (_, i) => ({
      id: `s${i}`,
      type: 'transform',
      config: { output: 1, x: 1 },
    }));
    const errors = validateWorkflow(workflowWith(steps)).errors;
    expect(errors).toHaveLength(1001);
    expect(errors.at(-1)).toEqual({ path: '(root)', message: '500 more problems are not listed' });
  });
});

describe('assertValidWorkflow', () => {
  it('returns the workflow when it is valid', () => {
    expect(assertValidWorkflow(onboardingYaml).id).toBe('onboarding');
  });

  it('throws a ValidationError that carries every problem', () => {
    const attempt = () => assertValidWorkflow(fiveProblems);
    expect(attempt).toThrow(ValidationError);
    try {
      attempt();
    } catch (error) {
      expect((error as ValidationError).issues).toHaveLength(5);
      expect((error as ValidationError).message).toMatch(
        /^The workflow is not valid: 5 problems \(first: steps\[0\]\.next\[1\]: unknown step 'nowhere'/,
      );
    }
  });
});

describe('validateWorkflow › custom step types', () => {
  const registry = createStepRegistry([
    defineStepType({
      type: 'sms',
      config: z.object({ to: z.string(), text: z.string() }).strict(),
      action: true,
      outcomes: () => ['sent', 'bounced'],
      check: (config) => (config.to.startsWith('+') ? [] : [{ path: 'to', message: 'must start with +' }]),
      execute: async () => ({ status: 'completed', outcome: 'sent' }),
    }),
  ]);

  it('accepts a custom type registered in code, with its own outcomes', () => {
    const step = {
      id: 'a',
      type: 'sms',
      config: { to: '+100', text: 'hi' },
      next: { sent: 'b', bounced: 'b' },
    };
    expect(validateWorkflow(workflowWith([step, transformStep('b')]), { registry }).errors).toEqual([]);
  });

  it("reports a custom type's own checks with the step's path", () => {
    const step = { id: 'a', type: 'sms', config: { to: '100', text: 'hi' } };
    expect(validateWorkflow(workflowWith([step]), { registry }).errors).toEqual([
      { path: 'steps[0].config.to', message: 'must start with +' },
    ]);
  });

  it('does not know the custom type without its registry', () => {
    const step = { id: 'a', type: 'sms', config: { to: '+1', text: 'hi' } };
    expect(validateWorkflow(workflowWith([step])).errors[0]?.message).toMatch(/^unknown step type 'sms'/);
  });
});

describe('stepOutcomes', () => {
  it('gives the outcomes of a step for its config', () => {
    expect(stepOutcomes({ type: 'approval', config: { approvers: ['a@b.c'] } })).toEqual([
      'approved',
      'rejected',
      'timeout',
    ]);
    expect(stepOutcomes({ type: 'conditional', config: { cases: { a: 'x', b: 'y' } } })).toEqual([
      'a',
      'b',
      'default',
    ]);
  });
});
