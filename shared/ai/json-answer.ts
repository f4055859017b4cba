/**
 * Reads a model's answer as JSON and checks it against a JSON Schema (2020-12). Validators are
 * compiled once per schema and kept in a small cache, since the same step runs again and again.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { StepError } from '../errors.js';

export interface SchemaIssue {
  /** JSON Pointer into the answer, `/` for the whole of it. */
  path: string;
  message: string;
}

export type JsonAnswer =
  | { ok: true; value: unknown }
  | { ok: false; notJson: boolean; issues: SchemaIssue[] };

/** `strict: false`: schemas written for other tools often carry keywords Ajv does not know (`nullable`, `example`). */
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats.default(ajv);

const MAX_CACHED_VALIDATORS = 200;
const validators = new Map<string, { validate: ValidateFunction; compiled: Record<string, unknown> }>();

/**
 * The validator of a schema; throws Ajv's error when the schema does not compile. The root `$id` is
 * set aside so that two workflows using the same `$id` for different schemas do not collide in Ajv's
 * registry of schemas by id.
 */
export function compileJsonSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = validators.get(key);
  if (cached) {
    // Refresh its place: the cache forgets the least recently used schema first.
    validators.delete(key);
    validators.set(key, cached);
    return cached.validate;
  }
  const { $id: _id, ...compiled } = schema;
  const validate = ajv.compile(compiled);
  validators.set(key, { validate, compiled });
  if (validators.size > MAX_CACHED_VALIDATORS) {
    const [oldestKey, oldest] = validators.entries().next().value!;
    validators.delete(oldestKey);
    ajv.removeSchema(oldest.compiled);
  }
  return validate;
}

/** The validator of a schema, or a non-retryable `InvalidJsonSchema` StepError. */
export function validatorFor(schema: Record<string, unknown>): ValidateFunction {
  try {
    return compileJsonSchema(schema);
  } catch (error) {
    throw new StepError(
      'InvalidJsonSchema',
      `json_schema is not a valid JSON Schema: ${(error as Error).message}`,
      {
        retryable: false,
        cause: error,
      },
    );
  }
}

const FENCED = /```[ \t]*(?:json)?[ \t]*\r?\n?([\s\S]*?)```/i;

/**
 * The JSON in a model's answer: the whole text, or else the first fenced block (```json … ```), which
 * models add even when told not to. The parser's message is not kept: it quotes the answer.
 */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false } {
  const candidates = [text.trim()];
  const fenced = FENCED.exec(text);
  if (fenced?.[1] !== undefined) candidates.push(fenced[1].trim());
  for (const candidate of candidates) {
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch {
      // Try the next reading of the answer.
    }
  }
  return { ok: false };
}

/** Parses and validates an answer; issues name where the answer is wrong, never what it says. */
export function checkJsonAnswer(text: string, validate: ValidateFunction): JsonAnswer {
  const parsed = parseJsonText(text);
  if (!parsed.ok)
    return { ok: false, notJson: true, issues: [{ path: '/', message: 'the answer is not JSON' }] };
  if (validate(parsed.value)) return { ok: true, value: parsed.value };
  return { ok: false, notJson: false, issues: (validate.errors ?? []).map(toIssue) };
}

function toIssue(error: ErrorObject): SchemaIssue {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? `fails ${error.keyword}`;
  if (error.keyword === 'additionalProperties') message += `: '${String(params.additionalProperty)}'`;
  if (error.keyword === 'enum') message += `: ${JSON.stringify(params.allowedValues)}`;
  return { path, message };
}
