/**
 * Reads a model's answer as JSON and checks it against a JSON Schema (2020-12), with validators from
 * the shared compile cache, since the same step runs again and again.
 */
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { StepError } from '../errors.js';
import { MAX_NESTING } from '../expressions/budget.js';
import { compileJsonSchema, SELF_REFERENCE } from './ajv.js';
import { scanJsonText } from './json-text.js';

export interface SchemaIssue {
  /** JSON Pointer into the answer, `/` for the whole of it. */
  path: string;
  message: string;
}

export type JsonAnswer =
  | { ok: true; value: unknown }
  | { ok: false; notJson: boolean; issues: SchemaIssue[] };

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
 * models add even when told not to. The parser's message is not kept: it quotes the answer. Text
 * that nests more than MAX_NESTING levels deep (the bound of the values expressions build) is not
 * parsed (`tooDeep`): the schema's validator and the stores recurse, and 50,000 levels overflowed
 * their stack; and parsing 8 MiB of brackets took 1 s and 0.26 GB.
 */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; tooDeep: boolean } {
  const candidates = [text.trim()];
  const fenced = FENCED.exec(text);
  if (fenced?.[1] !== undefined) candidates.push(fenced[1].trim());
  let tooDeep = false;
  for (const candidate of candidates) {
    if (scanJsonText(candidate, MAX_NESTING, { numbers: false }) !== undefined) {
      tooDeep = true;
      continue;
    }
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch {
      // Try the next reading of the answer.
    }
  }
  return { ok: false, tooDeep };
}

/** Parses and validates an answer; issues name where the answer is wrong, never what it says. */
export function checkJsonAnswer(text: string, validate: ValidateFunction): JsonAnswer {
  const parsed = parseJsonText(text);
  if (!parsed.ok && parsed.tooDeep) {
    const message = `the answer is nested more than ${MAX_NESTING} levels deep`;
    return { ok: false, notJson: false, issues: [{ path: '/', message }] };
  }
  if (!parsed.ok)
    return { ok: false, notJson: true, issues: [{ path: '/', message: 'the answer is not JSON' }] };
  if (validates(validate, parsed.value)) return { ok: true, value: parsed.value };
  return { ok: false, notJson: false, issues: (validate.errors ?? []).map(toIssue) };
}

/**
 * Runs the validator; a stack overflow (a schema that refers to itself without end further down than
 * the check made when it was compiled reaches) is the schema's fault: a non-retryable
 * `InvalidJsonSchema`, where it was an InternalError or a 500.
 */
function validates(validate: ValidateFunction, value: unknown): boolean {
  try {
    return validate(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new StepError('InvalidJsonSchema', `json_schema could not check the answer: ${SELF_REFERENCE}`, {
      retryable: false,
      cause: error,
    });
  }
}

function toIssue(error: ErrorObject): SchemaIssue {
  const path = error.instancePath === '' ? '/' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  let message = error.message ?? `fails ${error.keyword}`;
  if (error.keyword === 'additionalProperties') message += `: '${String(params.additionalProperty)}'`;
  if (error.keyword === 'enum') message += `: ${JSON.stringify(params.allowedValues)}`;
  return { path, message };
}
