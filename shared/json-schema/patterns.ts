/**
 * The regular expressions a JSON Schema holds (`pattern` values and `patternProperties` keys), found
 * by following the keywords whose values are schemas, so that `pattern` as a property name, or
 * inside `enum`, `const` or `default`, is not mistaken for one.
 */
import { linearRegExpProblem } from './linear-regexp.js';

export type SchemaPathSegment = string | number;

export interface SchemaPattern {
  /** Where the pattern is, from the schema's root: `['properties', 'zip', 'pattern']`. */
  path: SchemaPathSegment[];
  pattern: string;
}

export interface SchemaPatternProblem {
  path: SchemaPathSegment[];
  message: string;
}

/** Keywords whose value is one schema (Ajv's 2020-12 vocabulary, and draft-07's that it still reads). */
const ONE_SCHEMA = [
  'additionalItems',
  'additionalProperties',
  'contains',
  'else',
  'if',
  'items',
  'not',
  'propertyNames',
  'then',
  'unevaluatedItems',
  'unevaluatedProperties',
];
/** Keywords whose value is a list of schemas (`items` too, in draft-07's tuple form). */
const SCHEMA_LIST = ['allOf', 'anyOf', 'items', 'oneOf', 'prefixItems'];
/** Keywords whose value maps names to schemas (`dependencies` values may also be lists of names). */
const SCHEMA_MAP = [
  '$defs',
  'definitions',
  'dependencies',
  'dependentSchemas',
  'patternProperties',
  'properties',
];

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every pattern of a schema, in document order. */
export function schemaPatterns(schema: unknown): SchemaPattern[] {
  const found: SchemaPattern[] = [];
  // A stack rather than recursion: a schema may be nested deeply.
  const work: Array<{ schema: unknown; path: SchemaPathSegment[] }> = [{ schema, path: [] }];
  while (work.length > 0) {
    const { schema: node, path } = work.pop()!;
    if (!isObject(node)) continue;
    const children: Array<{ schema: unknown; path: SchemaPathSegment[] }> = [];
    if (typeof node.pattern === 'string') found.push({ path: [...path, 'pattern'], pattern: node.pattern });
    if (isObject(node.patternProperties)) {
      for (const key of Object.keys(node.patternProperties))
        found.push({ path: [...path, 'patternProperties', key], pattern: key });
    }
    for (const keyword of Object.keys(node)) {
      const value = node[keyword];
      if (ONE_SCHEMA.includes(keyword)) children.push({ schema: value, path: [...path, keyword] });
      if (SCHEMA_LIST.includes(keyword) && Array.isArray(value)) {
        value.forEach((item, i) => {
          children.push({ schema: item, path: [...path, keyword, i] });
        });
      }
      if (SCHEMA_MAP.includes(keyword) && isObject(value)) {
        for (const [name, item] of Object.entries(value))
          children.push({ schema: item, path: [...path, keyword, name] });
      }
    }
    // Reversed onto the stack, so that the patterns come out in document order.
    for (let i = children.length - 1; i >= 0; i--) work.push(children[i]!);
  }
  return found;
}

/**
 * The patterns of a schema that the engine cannot run, each with its path and why: not a regular
 * expression (with the `u` flag, as Ajv compiles them) or not runnable in linear time.
 */
export function schemaPatternProblems(schema: unknown): SchemaPatternProblem[] {
  const problems: SchemaPatternProblem[] = [];
  for (const { path, pattern } of schemaPatterns(schema)) {
    const problem = linearRegExpProblem(pattern, 'u');
    if (problem !== undefined) problems.push({ path, message: problem });
  }
  return problems;
}
