/**
 * The fields of a `form` step: whether they are consistent with themselves, and the checking of a
 * person's answer against them, with messages that person can act on.
 *
 * Rules, like an HTML form: a value that is missing, `null` or `''` counts as not given (a required
 * field reports "is required", an optional one takes its default or stays out of the output). Values
 * are not coerced: `"42"` is not a number. `pattern` is searched, as in JSON Schema (anchor it with
 * `^…$` to match the whole text), on the linear-time engine (shared/json-schema/linear-regexp.ts), so
 * no pattern can stall the process. Lengths count characters (code points).
 */
import type { ErrorIssue } from '../errors.js';
import { compileLenientPattern, type LinearRegExp, PatternRefused } from '../json-schema/index.js';
import type { FormField } from './form.js';
import { hasPlaceholder } from './rendered.js';

const TYPE_WORDS: Record<FormField['type'], string> = {
  string: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
};

/**
 * Compiles a field's pattern as answers are checked against it, on the linear-time engine: read as
 * with the `u` flag (JSON Schema's reading), or without it where only that is valid (`[\w-.]`,
 * `\_`). Throws a SyntaxError when it is not a regex, and a `PatternRefused` when it needs
 * backtracking (a backreference, a lookaround).
 */
export function compilePattern(pattern: string): LinearRegExp {
  return compileLenientPattern(pattern);
}

export function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** What is wrong with a given (non-empty) value for a field, in words for the person who typed it. */
export function fieldProblem(field: FormField, value: unknown): string | undefined {
  const name = field.label ?? field.key;
  if (!hasType(value, field.type)) return `${name} must be ${TYPE_WORDS[field.type]}`;
  if (field.enum && !field.enum.some((option) => sameJson(option, value))) {
    return `${name} must be one of ${field.enum.map(showValue).join(', ')}`;
  }
  if (typeof value === 'string') {
    if (field.pattern !== undefined && !compilePattern(field.pattern).test(value)) {
      return `${name} is not in the expected format (${field.pattern})`;
    }
    return sizeProblem(name, [...value].length, field, 'character');
  }
  if (Array.isArray(value)) return sizeProblem(name, value.length, field, 'item');
  if (typeof value === 'number') {
    if (field.min !== undefined && value < field.min) return `${name} must be at least ${field.min}`;
    if (field.max !== undefined && value > field.max) return `${name} must be at most ${field.max}`;
  }
  return undefined;
}

function sizeProblem(name: string, size: number, field: FormField, unit: string): string | undefined {
  const verb = unit === 'character' ? 'be' : 'have';
  const suffix = unit === 'character' ? ' long' : '';
  if (field.min !== undefined && size < field.min) {
    return `${name} must ${verb} at least ${plural(field.min, unit)}${suffix}`;
  }
  if (field.max !== undefined && size > field.max) {
    return `${name} must ${verb} at most ${plural(field.max, unit)}${suffix}`;
  }
  return undefined;
}

export type FormAnswer = { values: Record<string, unknown> } | { issues: ErrorIssue[] };

/**
 * Checks a person's values against the fields: one issue per field (`inputs.<key>`), unknown keys
 * refused; the checked values with the defaults of missing optional fields otherwise.
 */
export function checkFormAnswer(fields: readonly FormField[], inputs: Record<string, unknown>): FormAnswer {
  const issues: ErrorIssue[] = [];
  // Entries, not assignments: a field may be called `__proto__`.
  const values: Array<[string, unknown]> = [];
  const known = new Set(fields.map((f) => f.key));
  for (const field of fields) {
    const given = Object.hasOwn(inputs, field.key) ? inputs[field.key] : undefined;
    if (isEmpty(given)) {
      if (field.required)
        issues.push({ path: `inputs.${field.key}`, message: `${field.label ?? field.key} is required` });
      else if (field.default !== undefined) values.push([field.key, field.default]);
      continue;
    }
    const problem = fieldProblem(field, given);
    if (problem) issues.push({ path: `inputs.${field.key}`, message: problem });
    else values.push([field.key, given]);
  }
  for (const key of Object.keys(inputs)) {
    if (!known.has(key))
      issues.push({ path: `inputs.${key}`, message: `${key} is not a field of this form` });
  }
  return issues.length > 0 ? { issues } : { values: Object.fromEntries(values) };
}

/**
 * Problems of the fields themselves (paths relative to the step's config): duplicate keys, patterns
 * that do not compile, bounds that cannot hold, enum values and defaults that do not fit their field.
 * Values still holding a `{{ }}` placeholder are checked once rendered, when the step runs.
 */
export function fieldIssues(fields: readonly FormField[]): ErrorIssue[] {
  const issues: ErrorIssue[] = [];
  const firstIndex = new Map<string, number>();
  fields.forEach((field, i) => {
    const at = `fields[${i}]`;
    const first = firstIndex.get(field.key);
    if (first === undefined) firstIndex.set(field.key, i);
    else
      issues.push({
        path: `${at}.key`,
        message: `duplicate key '${field.key}': fields[${first}] has it too`,
      });

    const patternIssue = patternProblem(field);
    if (patternIssue) issues.push({ path: `${at}.pattern`, message: patternIssue });
    const boundsIssue = boundsProblem(field);
    if (boundsIssue) issues.push({ path: `${at}.${boundsIssue.key}`, message: boundsIssue.message });
    // A field whose own rules are broken cannot judge its enum or default meaningfully.
    if (patternIssue || boundsIssue) return;

    field.enum?.forEach((option, j) => {
      if (hasPlaceholder(option)) return;
      const problem = fieldProblem({ ...field, enum: undefined }, option);
      if (problem)
        issues.push({
          path: `${at}.enum[${j}]`,
          message: `the option ${showValue(option)} does not fit: ${problem}`,
        });
    });
    if (field.default !== undefined && !hasPlaceholder(field.default)) {
      const problem = isEmpty(field.default) ? undefined : fieldProblem(field, field.default);
      if (problem)
        issues.push({ path: `${at}.default`, message: `the default does not fit its field: ${problem}` });
    }
  });
  return issues;
}

function patternProblem(field: FormField): string | undefined {
  if (field.pattern === undefined) return undefined;
  if (field.type !== 'string') return `pattern applies only to string fields, not ${field.type}`;
  if (hasPlaceholder(field.pattern)) return undefined;
  try {
    compilePattern(field.pattern);
    return undefined;
  } catch (error) {
    if (error instanceof PatternRefused) return error.message;
    return `is not a valid regular expression: ${(error as Error).message}`;
  }
}

function boundsProblem(field: FormField): { key: 'min' | 'max'; message: string } | undefined {
  const { min, max } = field;
  if (min === undefined && max === undefined) return undefined;
  const key = min !== undefined ? 'min' : 'max';
  if (field.type === 'boolean' || field.type === 'object') {
    return { key, message: `${key} applies to number, integer, string and array fields, not ${field.type}` };
  }
  if (field.type === 'string' || field.type === 'array') {
    for (const [name, bound] of [
      ['min', min],
      ['max', max],
    ] as const) {
      if (bound !== undefined && (!Number.isInteger(bound) || bound < 0)) {
        return {
          key: name,
          message: `${name} is a length for ${field.type} fields: give a whole number of 0 or more`,
        };
      }
    }
  }
  if (min !== undefined && max !== undefined && min > max) {
    return { key: 'min', message: `min (${min}) is greater than max (${max})` };
  }
  return undefined;
}

function hasType(value: unknown, type: FormField['type']): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
  }
}

/** Equality of JSON values: by value, object keys in any order. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const rb = b as Record<string, unknown>;
  return (
    ka.length === kb.length &&
    ka.every((k) => Object.hasOwn(rb, k) && sameJson((a as Record<string, unknown>)[k], rb[k]))
  );
}

function showValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
