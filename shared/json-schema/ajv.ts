/**
 * The one Ajv configuration and compile cache of Flowrunner. The validator (a workflow's `inputs`
 * and ai_generate's `json_schema`) and the engine (a run's inputs, a model's answers, the AI API)
 * compile JSON Schemas here, so a schema that is valid when the workflow is validated compiles,
 * and behaves, the same when it runs.
 */
import {
  _,
  Ajv2020,
  type CodeKeywordDefinition,
  type ErrorObject,
  type KeywordCxt,
  str,
  type ValidateFunction,
} from 'ajv/dist/2020.js';
import { addJsonSchemaFormats } from './formats.js';
import { ajvRegExpEngine } from './linear-regexp.js';

/**
 * - `strict: false`: schemas written for other tools often carry keywords Ajv does not know
 *   (`nullable`, `example`).
 * - `addUsedSchema: false`: a schema's `$id` is not registered, so two workflows may use the same
 *   `$id` for different schemas (a `$ref` to the schema's own `$id` still resolves, and so does
 *   `$ref: "#"` in a schema without one: `compileJsonSchema` gives it one, ANONYMOUS_ID).
 * - `code.regExp`: `pattern` and `patternProperties` run on the linear-time engine.
 * - `uniqueItems` runs in linear time (`uniqueItemsKeyword`).
 */
function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    addUsedSchema: false,
    code: { regExp: ajvRegExpEngine },
  });
  addJsonSchemaFormats(ajv);
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword(uniqueItemsKeyword);
  return ajv;
}

/**
 * A text that is the same for two JSON values exactly when JSON Schema calls them equal: object keys
 * sorted, and numbers as JSON writes them (1 and 1.0 are one number, and so are 0 and -0).
 */
function canonicalText(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalText).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalText(record[key])}`);
    return `{${members.join(',')}}`;
  }
  // Not JSON (NaN, undefined, a function) cannot come from a request, but must not equal null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * The first pair of equal items, `[i, j]` with `i < j` (the last such `j`), or undefined. Ajv's own
 * check compares every pair when the items are not all scalars: 60,000 short lists blocked the
 * server for 85 s.
 */
function duplicatePair(items: readonly unknown[]): [number, number] | undefined {
  const seen = new Map<string, number>();
  for (let i = items.length - 1; i >= 0; i--) {
    const text = canonicalText(items[i]);
    const j = seen.get(text);
    if (j !== undefined) return [i, j];
    seen.set(text, i);
  }
  return undefined;
}

/** `uniqueItems` in linear time, with Ajv's error (`params: {i, j}`, the same message). */
const uniqueItemsKeyword: CodeKeywordDefinition = {
  keyword: 'uniqueItems',
  type: 'array',
  schemaType: 'boolean',
  error: {
    message: ({ params: { i, j } }) =>
      str`must NOT have duplicate items (items ## ${j} and ${i} are identical)`,
    params: ({ params: { i, j } }) => _`{i: ${i}, j: ${j}}`,
  },
  code(cxt: KeywordCxt) {
    if (cxt.schema !== true) return;
    const { gen, data } = cxt;
    const find = gen.scopeValue('func', { ref: duplicatePair });
    const pair = gen.const('pair', _`${find}(${data})`);
    cxt.setParams({ i: _`${pair}[0]`, j: _`${pair}[1]` });
    cxt.fail(_`${pair} !== undefined`);
  },
};

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

/** Why a schema is refused whose validator recursed without end on a small value. */
export const SELF_REFERENCE = 'the schema refers to itself without end';

/**
 * The `$id` given to a root schema without one: `$ref: "#"` then resolves (Ajv does not resolve it
 * without an `$id` when used schemas are not added). Every such schema gets the same one: as no `$id`
 * is registered, a reference to it from any schema resolves in that schema only. `.invalid` is a
 * domain that never resolves (RFC 2606).
 */
const ANONYMOUS_ID = 'https://flowrunner.invalid/json-schema';

/** The most property names a probe value (`probes`) holds. */
const MAX_PROBE_NAMES = 1000;

/**
 * Small values that a schema which refers to itself without consuming any of the value (`$ref: "#"`
 * beside its own `$id`, a `$dynamicRef` to its own anchor, a property whose schema is itself) sends
 * into endless recursion, which overflows the stack: null, true, 0, empty containers, a list of one
 * null and an object with every property name the schema declares. No string: checking one would
 * compile the `url` format's program, which is left to the first url checked (cold starts). A loop
 * further down escapes them: the call sites of validators turn that stack overflow into an error
 * that says so.
 */
function probes(schema: unknown): unknown[] {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (names.size >= MAX_PROBE_NAMES || typeof node !== 'object' || node === null) return;
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === 'properties' && typeof value === 'object' && value !== null && !Array.isArray(value)) {
        for (const name of Object.keys(value).slice(0, MAX_PROBE_NAMES)) names.add(name);
      }
      walk(value);
    }
  };
  walk(schema);
  return [null, true, 0, [], [null], {}, Object.fromEntries([...names].map((name) => [name, null]))];
}

/** Whether the validator overflows the stack on one of the probe values of its schema. */
function recursesWithoutEnd(validate: ValidateFunction, schema: unknown): boolean {
  for (const probe of probes(schema)) {
    try {
      validate(probe);
    } catch (error) {
      if (error instanceof RangeError) return true;
      throw error;
    }
  }
  return false;
}

/**
 * The validator of a JSON Schema (2020-12), from the cache or compiled now. Throws Ajv's error when
 * the schema does not compile, including a SyntaxError or `PatternRefused` for a `pattern` that is
 * not a regular expression or cannot run in linear time, and an Error with SELF_REFERENCE for a
 * schema whose validator recursed without end on a small value: such a schema compiled, then every
 * value it checked overflowed the stack.
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
  const anonymous = typeof copy === 'object' && copy !== null && !Array.isArray(copy) && !('$id' in copy);
  if (anonymous) (copy as Record<string, unknown>).$id = ANONYMOUS_ID;
  let validate: ValidateFunction;
  try {
    validate = owner.ajv.compile(copy);
  } catch (error) {
    // Ajv inlines the target of a `$ref`, and one that refers to itself
    // (`properties: {a: {$ref: "#/properties/a"}}`) without end.
    if (error instanceof RangeError) throw new Error(SELF_REFERENCE, { cause: error });
    // "can't resolve reference x from id #", as the author wrote it, not the `$id` given here.
    if (anonymous && error instanceof Error) {
      error.message = error.message.replace(` from id ${ANONYMOUS_ID}`, ' from id #');
    }
    throw error;
  }
  if (recursesWithoutEnd(validate, schema)) {
    if (typeof copy === 'object') owner.ajv.removeSchema(copy);
    throw new Error(SELF_REFERENCE);
  }
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
