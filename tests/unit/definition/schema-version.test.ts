import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../../../shared/definition/validate.js';
import { onboarding, onboardingYaml } from './helpers.js';

const refusal = 'schema_version 2.0 is not supported: this Flowrunner reads schema_version 1.x';

describe('validateWorkflow › schema_version', () => {
  it('refuses a future major version with a clear message, first', () => {
    const result = validateWorkflow({ ...onboarding(), schema_version: '2.0' });
    expect(result.valid).toBe(false);
    expect(result.errors[0]).toEqual({ path: 'schema_version', message: refusal });
  });

  it('says only that for a 2.0 document of an unknown shape, with its line', () => {
    const text = 'schema_version: "2.0"\nid: next-gen\nflow:\n  start: { task: hello }\n';
    expect(validateWorkflow(text).errors).toEqual([
      { path: 'schema_version', message: refusal, line: 1, column: 1 },
    ]);
  });

  it('reads an unquoted YAML 2.0 the same way', () => {
    expect(validateWorkflow('schema_version: 2.0\nid: x\n').errors).toEqual([
      { path: 'schema_version', message: refusal, line: 1, column: 1 },
    ]);
  });

  it('refuses major versions before 1 as well', () => {
    expect(validateWorkflow({ ...onboarding(), schema_version: '0.9' }).errors).toEqual([
      {
        path: 'schema_version',
        message: 'schema_version 0.9 is not supported: this Flowrunner reads schema_version 1.x',
      },
    ]);
  });

  it('accepts any 1.x, with or without a patch number', () => {
    for (const version of ['1.0', '1.7', '1.2.3']) {
      expect(validateWorkflow({ ...onboarding(), schema_version: version }).errors).toEqual([]);
    }
  });

  it('keeps syntax-level problems after the version message', () => {
    const text = onboardingYaml.replace('schema_version: "1.0"', 'schema_version: "3.1"\nname: twice');
    const errors = validateWorkflow(text).errors;
    expect(errors.map((e) => e.message)).toEqual([
      'schema_version 3.1 is not supported: this Flowrunner reads schema_version 1.x',
      "duplicate key 'name': a key may appear only once in a mapping",
    ]);
  });
});
