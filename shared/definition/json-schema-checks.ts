/**
 * Checks the JSON Schemas a workflow carries (`inputs`, ai_generate's `json_schema`): each must be
 * a valid JSON Schema 2020-12 whose patterns the linear-time engine runs, compiled with the same Ajv
 * configuration and cache as the engine uses at run time (shared/json-schema).
 */
import type { ErrorObject } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { compileJsonSchema, metaSchemaErrors, schemaPatternProblems } from '../json-schema/index.js';
import type { StepType } from '../steps/types.js';
import type { DocumentPath, PathSegment, Problem } from './paths.js';
import { jsonSchemaDocument } from './schema.js';

export function jsonSchemaProblems(schema: unknown, path: DocumentPath): Problem[] {
  try {
    const metaErrors = metaSchemaErrors(schema);
    if (metaErrors.length > 0) return metaSchemaProblems(metaErrors, schema, path);
    // Each pattern where it is written, before Ajv, which stops at the first it cannot compile.
    const patterns = schemaPatternProblems(schema);
    if (patterns.length > 0) {
      return patterns.map((problem) => ({ path: [...path, ...problem.path], message: problem.message }));
    }
    compileJsonSchema(schema as object);
    return [];
  } catch (error) {
    return [{ path, message: `is not a usable JSON Schema (2020-12): ${(error as Error).message}` }];
  }
}

/** One problem per place in the schema (the meta-schema often says the same thing several ways). */
function metaSchemaProblems(errors: readonly ErrorObject[], schema: unknown, path: DocumentPath): Problem[] {
  const byPlace = new Map<string, ErrorObject>();
  for (const error of errors) if (!byPlace.has(error.instancePath)) byPlace.set(error.instancePath, error);
  return [...byPlace.values()].map((error) => {
    const allowed = error.params.allowedValues as unknown[] | undefined;
    const detail = allowed
      ? `must be one of: ${allowed.map((v) => JSON.stringify(v)).join(', ')}`
      : error.message;
    return {
      path: [...path, ...pointerSegments(error.instancePath, schema)],
      message: `is not valid in a JSON Schema (2020-12): ${detail ?? 'not allowed here'}`,
    };
  });
}

/** `/properties/a/required/0` → `['properties', 'a', 'required', 0]`, indices where the value is a list. */
function pointerSegments(pointer: string, root: unknown): PathSegment[] {
  const segments: PathSegment[] = [];
  let value = root;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    const segment = Array.isArray(value) && /^\d+$/.test(key) ? Number(key) : key;
    segments.push(segment);
    value =
      typeof value === 'object' && value !== null
        ? (value as Record<PathSegment, unknown>)[segment]
        : undefined;
  }
  return segments;
}

const schemaFieldsCache = new WeakMap<StepType, readonly string[]>();

/** The config fields of a step type that hold a JSON Schema document (declared with `jsonSchemaDocument`). */
export function jsonSchemaFields(type: StepType): readonly string[] {
  let fields = schemaFieldsCache.get(type);
  if (!fields) {
    const config = type.config;
    fields =
      config instanceof z.ZodObject
        ? Object.entries(config.shape as Record<string, z.ZodType>)
            .filter(([, field]) => unwrapOptional(field) === jsonSchemaDocument)
            .map(([key]) => key)
        : [];
    schemaFieldsCache.set(type, fields);
  }
  return fields;
}

function unwrapOptional(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? unwrapOptional(schema.unwrap() as z.ZodType) : schema;
}
