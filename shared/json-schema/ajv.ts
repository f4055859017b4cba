/**
 * The one Ajv configuration and compile cache of Flowrunner. The validator (a workflow's `inputs`
 * and ai_generate's `json_schema`) and the engine (a run's inputs, a model's answers, the AI API)
 * compile JSON Schemas here, so a schema that is valid when the workflow is validated compiles,
 * and behaves, the same when it runs.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { addJsonSchemaFormats } from './formats.js';
import { ajvRegExpEngine } from './linear-regexp.js';

/**
 * - `strict: false`: schemas written for other tools often carry keywords Ajv does not know
 *   (`nullable`, `example`).
 * - `addUsedSchema: false`: a schema's `$id` is not registered, so two workflows may use the same
 *   `$id` for different schemas (a `$ref` to the schema's own `$id` still resolves).
 * - `code.regExp`: `pattern` and `patternProperties` run on the linear-time engine.
 */
function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    addUsedSchema: false,
    code: { regExp: ajvRegExpEngine },
  });
  addJsonSchemaFormats(ajv);
  return ajv;
}

/**
 * Ajv keeps what it compiled (its schema cache and the patterns and formats shared by the code it
 * generates) for as long as the instance lives, so an instance compiles a bounded number of schemas
 * and is then replaced. Validators it compiled keep working; it is freed once none is cached.
 */
const COMPILES_PER_INSTANCE = 200;
/** Enough for the schemas of many workflows; a validator costs a few kilobytes. */
const MAX_CACHED_VALIDATORS = 200;

let current: { ajv: Ajv2020; compiles: number } | undefined;

function instance(): { ajv: Ajv2020; compiles: number } {
  if (!current || current.compiles >= COMPILES_PER_INSTANCE) current = { ajv: createAjv(), compiles: 0 };
  return current;
}

interface Cached {
  validate: ValidateFunction;
  ajv: Ajv2020;
  schema: object | boolean;
}

/** Map iteration order is insertion order: the first key is the least recently used. */
const validators = new Map<string, Cached>();

/**
 * The validator of a JSON Schema (2020-12), from the cache or compiled now. Throws Ajv's error when
 * the schema does not compile, including a SyntaxError or `PatternRefused` for a `pattern` that is
 * not a regular expression or cannot run in linear time.
 */
export function compileJsonSchema(schema: object | boolean): ValidateFunction {
  const key = JSON.stringify(schema);
  const cached = validators.get(key);
  if (cached) {
    validators.delete(key);
    validators.set(key, cached);
    return cached.validate;
  }
  const owner = instance();
  owner.compiles++;
  // A copy: the caller may change its object later, and Ajv caches by object identity.
  const copy = JSON.parse(key) as object | boolean;
  const validate = owner.ajv.compile(copy);
  validators.set(key, { validate, ajv: owner.ajv, schema: copy });
  if (validators.size > MAX_CACHED_VALIDATORS) {
    const [oldestKey, oldest] = validators.entries().next().value!;
    validators.delete(oldestKey);
    if (typeof oldest.schema === 'object') oldest.ajv.removeSchema(oldest.schema);
  }
  return validate;
}

/** What the JSON Schema 2020-12 meta-schema finds wrong with a schema (empty when nothing). */
export function metaSchemaErrors(schema: unknown): ErrorObject[] {
  const { ajv } = instance();
  if (ajv.validateSchema(schema as object)) return [];
  return [...(ajv.errors ?? [])];
}

/** How many validators are cached (for tests). */
export function cachedValidatorCount(): number {
  return validators.size;
}
