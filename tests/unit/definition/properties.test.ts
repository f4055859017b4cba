import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type ValidationResult, validateWorkflow } from '../../../shared/definition/validate.js';
import { onboarding, onboardingYaml } from './helpers.js';

/** What every answer of the validator must look like, whatever it was given. */
function expectWellFormed(result: ValidationResult): void {
  expect(result.valid).toBe(result.errors.length === 0);
  expect(result.workflow !== undefined).toBe(result.valid);
  for (const error of result.errors) {
    expect(typeof error.path).toBe('string');
    expect(error.path.length).toBeGreaterThan(0);
    expect(typeof error.message).toBe('string');
    expect(error.message.length).toBeGreaterThan(0);
    if (error.line !== undefined) expect(error.line).toBeGreaterThan(0);
    if (error.column !== undefined) expect(error.column).toBeGreaterThan(0);
  }
}

const anything = fc.anything({
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withObjectString: true,
  withSparseArray: true,
  withTypedArray: true,
  withUnicodeString: true,
});

/** Every path to a value inside a JSON document. */
function pathsOf(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  const children = Array.isArray(value)
    ? value.flatMap((item, i) => pathsOf(item, [...path, i]))
    : typeof value === 'object' && value !== null
      ? Object.entries(value).flatMap(([key, item]) => pathsOf(item, [...path, key]))
      : [];
  return [path, ...children];
}

/** The onboarding workflow with the value at one path replaced (or removed). */
function mutate(pathIndex: number, replacement: unknown, remove: boolean): unknown {
  const doc = onboarding();
  const paths = pathsOf(doc);
  const path = paths[pathIndex % paths.length]!;
  if (path.length === 0) return replacement;
  let parent: Record<string | number, unknown> = doc;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove && !Array.isArray(parent)) delete parent[last];
  else parent[last] = replacement;
  return doc;
}

describe('validateWorkflow › properties', () => {
  it('never throws on any value, and every error has a path and a message', () => {
    fc.assert(
      fc.property(anything, (input) => {
        expectWellFormed(validateWorkflow(input));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on any JSON text', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expectWellFormed(validateWorkflow(text));
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on text made of YAML punctuation', () => {
    const unit = fc.constantFrom(...'{}[]:-,&*!|>\'"#%@`? \n\tab1.'.split(''));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 200 }), (text) => {
        expectWellFormed(validateWorkflow(text));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on the onboarding workflow with one value replaced or removed', () => {
    const replacement = fc.oneof(
      anything,
      fc.jsonValue(),
      fc.constantFrom('', 'collect', '{{ ( }}', '__proto__', null),
    );
    fc.assert(
      fc.property(fc.nat(), replacement, fc.boolean(), (pathIndex, value, remove) => {
        expectWellFormed(validateWorkflow(mutate(pathIndex, value, remove)));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on the onboarding YAML with a slice cut out or a character put in', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: onboardingYaml.length }),
        fc.nat({ max: 40 }),
        fc.string({ maxLength: 3 }),
        (at, cut, insert) => {
          const text = onboardingYaml.slice(0, at) + insert + onboardingYaml.slice(at + cut);
          expectWellFormed(validateWorkflow(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gives the same verdict for the YAML and JSON forms of a mutated workflow', () => {
    fc.assert(
      fc.property(fc.nat(), fc.jsonValue(), (pathIndex, value) => {
        const doc = mutate(pathIndex, value, false);
        const fromYaml = validateWorkflow(stringify(doc));
        const fromJson = validateWorkflow(JSON.stringify(doc));
        expect(fromJson.errors.map((e) => e.path)).toEqual(fromYaml.errors.map((e) => e.path));
      }),
      { numRuns: 200 },
    );
  });

  it('survives hostile shapes: deep nesting, prototype keys, huge arrays', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i++) deep = { next: deep };
    const hostile = [
      deep,
      JSON.parse('{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}}'),
      {
        schema_version: '1.0',
        id: 'a',
        steps: Array.from({ length: 5000 }, (_, i) => ({
          id: `s${i}`,
          type: 'transform',
          config: { output: i },
          next: `s${i + 1}`,
        })),
      },
      Object.create(null),
      new Proxy(
        {},
        {
          ownKeys: () => {
            throw new Error('trap');
          },
        },
      ),
    ];
    for (const input of hostile) expectWellFormed(validateWorkflow(input));
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });
});
