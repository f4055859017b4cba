/**
 * Turns zod's issues into problems a workflow author can act on: one problem per field, unions
 * resolved to the form the author meant, unknown step types named with the known ones.
 */
import { z } from 'zod';
import type { StepRegistry } from '../steps/registry.js';
import type { DocumentPath, PathSegment, Problem } from './paths.js';
import { stepCommonShape } from './schema.js';
import { nearestName } from './suggest.js';

type Issue = z.core.$ZodIssue;

export function structureProblems(
  issues: readonly Issue[],
  data: unknown,
  registry: StepRegistry,
): Problem[] {
  return issues.flatMap((issue) => problemsOf(issue, [], data, registry));
}

function problemsOf(issue: Issue, base: DocumentPath, data: unknown, registry: StepRegistry): Problem[] {
  const path = [...base, ...issue.path.map(toSegment)];
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'invalid_union':
      if (issue.discriminator !== undefined) {
        return [discriminatorProblem(path, data, registry), ...commonFieldProblems(path, data, registry)];
      }
      if (issue.errors.length === 0) return [{ path, message: issue.message }];
      return unionProblems(issue.errors, path, value, data, registry);
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field '${key}'` }));
    case 'invalid_key':
      return [
        {
          path,
          message: `the key '${String(path.at(-1))}' is not allowed: ${issue.issues.map((inner) => inner.message).join('; ')}`,
        },
      ];
    case 'invalid_type':
      return [{ path, message: typeMessage(path, issue.expected, value, valueAt(data, path.slice(0, -1))) }];
    default:
      return [{ path, message: issue.message }];
  }
}

function toSegment(key: PropertyKey): PathSegment {
  return typeof key === 'number' ? key : String(key);
}

function valueAt(data: unknown, path: DocumentPath): unknown {
  let value = data;
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<PathSegment, unknown>)[segment];
  }
  return value;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isInteger(value) ? 'an integer' : 'a number';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

const EXPECTED: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  tuple: 'a list',
  object: 'an object',
  record: 'an object',
  null: 'null',
};

function expectedKind(expected: string): string {
  return EXPECTED[expected] ?? expected;
}

function typeMessage(path: DocumentPath, expected: string, value: unknown, parent: unknown): string {
  const field = path.at(-1);
  if (value === undefined && typeof field === 'string' && typeof parent === 'object' && parent !== null) {
    return `missing required field '${field}'`;
  }
  if (path.length === 0) {
    return `a workflow must be an object (a YAML mapping) with schema_version, id and steps; got ${kindOf(value)}`;
  }
  if (path.length === 2 && path[0] === 'steps' && typeof path[1] === 'number') {
    return `each step must be an object with id, type and config; got ${kindOf(value)}`;
  }
  if (path.length === 1 && field === 'schema_version' && typeof value === 'number') {
    return 'schema_version must be a string such as "1.0"; in YAML, quote it (schema_version: "1.0")';
  }
  return `expected ${expectedKind(expected)}, got ${kindOf(value)}`;
}

/** An unknown `type` of a step or of a compensate action, or a step that is no object at all. */
function discriminatorProblem(path: DocumentPath, data: unknown, registry: StepRegistry): Problem {
  const ownerPath = path.slice(0, -1);
  const owner = valueAt(data, ownerPath);
  const isCompensate = ownerPath.at(-1) === 'compensate';
  const what = isCompensate ? 'a compensate action' : 'each step';
  if (typeof owner !== 'object' || owner === null || Array.isArray(owner)) {
    return {
      path: ownerPath,
      message: `${what} must be an object with ${isCompensate ? '' : 'id, '}type and config; got ${kindOf(owner)}`,
    };
  }
  const type = (owner as Record<string, unknown>).type;
  const known = registry.names();
  const actions = registry
    .list()
    .filter((t) => t.action)
    .map((t) => t.type);
  if (isCompensate) {
    const list = `action types: ${actions.join(', ')}`;
    if (type === undefined) return { path, message: `missing required field 'type'; ${list}` };
    if (typeof type !== 'string') return { path, message: `type must be a string; ${list}` };
    if (registry.get(type)) {
      return {
        path,
        message: `a ${type} step cannot undo another step; compensate with an action type (${list})`,
      };
    }
    const close = nearestName(type, actions);
    return {
      path,
      message: `unknown action type '${type}'; ${close === undefined ? '' : `did you mean '${close}'? `}${list}`,
    };
  }
  const list = `known types: ${known.join(', ')}`;
  if (type === undefined) return { path, message: `missing required field 'type'; ${list}` };
  if (typeof type !== 'string') return { path, message: `type must be a string; ${list}` };
  const close = nearestName(type, known);
  return {
    path,
    message: `unknown step type '${type}'; ${close === undefined ? '' : `did you mean '${close}'? `}${list}`,
  };
}

/** The fields every step has, checked apart from `type` and `config`. */
const commonFields = z
  .object({
    ...stepCommonShape,
    type: z.unknown().optional(),
    config: z.unknown().optional(),
    compensate: z.unknown().optional(),
  })
  .strict();

/**
 * A step whose type is unknown cannot have its config checked, but its other fields can: a wrong
 * id or next is worth knowing about before the type is fixed.
 */
function commonFieldProblems(path: DocumentPath, data: unknown, registry: StepRegistry): Problem[] {
  const stepPath = path.slice(0, -1);
  if (stepPath.at(-1) === 'compensate') return [];
  const step = valueAt(data, stepPath);
  if (typeof step !== 'object' || step === null || Array.isArray(step)) return [];
  const result = commonFields.safeParse(step);
  if (result.success) return [];
  return result.error.issues.flatMap((issue) => problemsOf(issue, stepPath, data, registry));
}

/**
 * A union that matched none of its forms. When the value has the shape of some form, the
 * author meant that one: report its issues (the form with the fewest wins). When it has the
 * shape of none, say which shapes are accepted.
 */
function unionProblems(
  branches: readonly (readonly Issue[])[],
  path: DocumentPath,
  value: unknown,
  data: unknown,
  registry: StepRegistry,
): Problem[] {
  const wrongShape = (branch: readonly Issue[]) =>
    branch.length > 0 && branch.every((issue) => issue.code === 'invalid_type' && issue.path.length === 0);
  const candidates = branches.filter((branch) => branch.length > 0 && !wrongShape(branch));
  if (candidates.length > 0) {
    const fewest = Math.min(...candidates.map((branch) => branch.length));
    const best = candidates.filter((branch) => branch.length === fewest);
    const tie = best.length > 1 ? alternativeFields(best, path, value) : undefined;
    return tie ?? best[0]!.flatMap((issue) => problemsOf(issue, path, data, registry));
  }
  if (path.at(-1) === 'next') {
    return [
      {
        path,
        message: `next must be a step id, a list of step ids, or a map from outcome to step id (or list); got ${kindOf(value)}`,
      },
    ];
  }
  const expected = [
    ...new Set(
      branches.flatMap((branch) =>
        branch.flatMap((issue) => (issue.code === 'invalid_type' ? [expectedKind(issue.expected)] : [])),
      ),
    ),
  ];
  const alternatives =
    expected.length > 1 ? `${expected.slice(0, -1).join(', ')} or ${expected.at(-1)}` : expected[0];
  if (value === undefined && typeof path.at(-1) === 'string') {
    return [{ path, message: `missing required field '${String(path.at(-1))}'` }];
  }
  return [{ path, message: `expected ${alternatives ?? 'another value'}, got ${kindOf(value)}` }];
}

/**
 * Forms that differ by which field they take (`when` or `cases`, `seconds` or `until`) tie when
 * the author gave none of the fields, or several: say that, rather than pick one form's complaint.
 */
function alternativeFields(
  branches: readonly (readonly Issue[])[],
  path: DocumentPath,
  value: unknown,
): Problem[] | undefined {
  const single = branches.map((branch) => (branch.length === 1 ? branch[0]! : undefined));
  const quoted = (names: readonly string[], conjunction: string) => {
    const each = names.map((name) => `'${name}'`);
    return each.length > 1 ? `${each.slice(0, -1).join(', ')} ${conjunction} ${each.at(-1)}` : each.join('');
  };
  const missing = single.map((issue) =>
    issue && issue.path.length === 1 && valueAt(value, issue.path.map(toSegment)) === undefined
      ? String(issue.path[0])
      : undefined,
  );
  if (missing.every((name) => name !== undefined)) {
    return [{ path, message: `missing required field: give ${quoted(missing as string[], 'or')}` }];
  }
  const extra = single.map((issue) =>
    issue?.code === 'unrecognized_keys' && issue.path.length === 0 && issue.keys.length === 1
      ? issue.keys[0]
      : undefined,
  );
  if (extra.every((name) => name !== undefined)) {
    const names = [...new Set(extra as string[])].sort();
    return [{ path, message: `${quoted(names, 'and')} cannot be used together: give one of them` }];
  }
  return undefined;
}
