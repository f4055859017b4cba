/**
 * Strict structured outputs (CONTRACT §7): OpenAI's `strict: true` takes only a subset of JSON Schema
 * (every object closed, every property required, an object at the root, no `allOf`/`not`/`if`/...).
 * `toStrictSchema` rewrites a step's `json_schema` into that subset where the rewrite keeps its meaning:
 *
 * - every object with `properties` is closed (`additionalProperties: false`): the model may then
 *   answer only with declared keys, each of which the original allows;
 * - an optional property becomes required and nullable; `restore` removes the nulls it added, so the
 *   property is absent again, as the original allows;
 * - a non-object root is wrapped in `{value}`; `restore` unwraps it;
 * - keywords that only narrow a value and that strict mode does not take (`minLength`, `uniqueItems`,
 *   an unsupported `format`, ...) are left out of what is sent: the answer is validated against the
 *   original schema anyway, and a violation goes back to the model as feedback.
 *
 * Whatever cannot be said that way (`allOf`, `oneOf`, `not`, `if/then/else`, `patternProperties`,
 * an open map, a `$ref` outside `$defs`, ...) is sent as it is with `strict: false`. Pure: no I/O.
 */

type Schema = Record<string, unknown>;

/** Keywords strict mode takes as they are. */
const STRICT_KEYWORDS = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  '$ref',
  '$defs',
  'definitions',
  'description',
  'title',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
]);

/** Annotations and narrowing keywords strict mode refuses; left out of what is sent (the original still validates). */
const DROPPED_KEYWORDS = new Set([
  'minLength',
  'maxLength',
  'uniqueItems',
  'default',
  'examples',
  '$schema',
  '$id',
  '$comment',
  'readOnly',
  'writeOnly',
  'deprecated',
  'contentEncoding',
  'contentMediaType',
]);

/** The `format` values strict mode accepts; another format is dropped like `minLength`. */
const STRICT_FORMATS = new Set([
  'date-time',
  'time',
  'date',
  'duration',
  'email',
  'hostname',
  'ipv4',
  'ipv6',
  'uuid',
]);

const DEF_REF = /^#\/(\$defs|definitions)\/([^/]+)$/;

export interface StrictSchemaPlan {
  /** What to send as `json_schema.schema`. */
  schema: Schema;
  /** What to send as `json_schema.strict`. */
  strict: boolean;
  /** The root was not an object and is wrapped in `{value}`. */
  wrapped: boolean;
  /** Why strict mode could not be used (empty when `strict`); for warnings. */
  problems: string[];
  /** Keywords left out of the strict schema (validated against the original afterwards). */
  dropped: string[];
  /** The model's parsed answer, back in the shape the original schema expects: nulls added by the transform removed, `{value}` unwrapped. */
  restore(answer: unknown): unknown;
  /** The inverse of `restore`: how a strict model answers with an answer of the original schema (tests, fakes). */
  encode(answer: unknown): unknown;
}

const isObject = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Does the schema obviously allow null (its own type, enum, const or an anyOf branch)? */
function allowsNull(schema: unknown, root: Schema, seen = new Set<unknown>()): boolean {
  if (!isObject(schema) || seen.has(schema)) return false;
  seen.add(schema);
  if (schema.type === 'null' || (Array.isArray(schema.type) && schema.type.includes('null'))) return true;
  if (Array.isArray(schema.enum) && schema.enum.includes(null)) return true;
  if ('const' in schema && schema.const === null) return true;
  if (Array.isArray(schema.anyOf) && schema.anyOf.some((b) => allowsNull(b, root, seen))) return true;
  if (typeof schema.$ref === 'string') return allowsNull(lookup(root, schema.$ref), root, seen);
  return false;
}

function lookup(root: Schema, ref: string): Schema | undefined {
  const match = DEF_REF.exec(ref);
  if (!match) return undefined;
  const defs = root[match[1] as string];
  const name = (match[2] as string).replace(/~1/g, '/').replace(/~0/g, '~');
  return isObject(defs) && isObject(defs[name]) ? (defs[name] as Schema) : undefined;
}

/** Every `$ref` points into `$defs`/`definitions` (so the schema can move under a wrapper). */
function refsMovable(schema: unknown): boolean {
  if (Array.isArray(schema)) return schema.every(refsMovable);
  if (!isObject(schema)) return true;
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && (typeof value !== 'string' || !DEF_REF.test(value))) return false;
    if (key !== 'enum' && key !== 'const' && !refsMovable(value)) return false;
  }
  return true;
}

/** A schema whose root strict mode takes as it is: a plain object schema. */
function isObjectRoot(schema: Schema): boolean {
  return (
    schema.type === 'object' &&
    schema.anyOf === undefined &&
    schema.oneOf === undefined &&
    schema.$ref === undefined &&
    schema.enum === undefined &&
    schema.const === undefined
  );
}

class Transform {
  readonly problems: string[] = [];
  readonly dropped = new Set<string>();
  /** Object nodes of the strict schema → the optional keys made required, and those whose null the transform added. */
  readonly optionalKeys = new WeakMap<Schema, { optional: Set<string>; strip: Set<string> }>();
  /** The nullable wrappers the transform made (`anyOf: [schema, {type: null}]`). */
  readonly nullWrappers = new WeakSet<Schema>();

  constructor(private readonly root: Schema) {}

  node(schema: unknown, path: string): Schema {
    if (!isObject(schema)) {
      this.problems.push(`${path}: a boolean schema`);
      return {};
    }
    const out: Schema = {};
    for (const [key, value] of Object.entries(schema)) {
      if (DROPPED_KEYWORDS.has(key)) {
        this.dropped.add(key);
        continue;
      }
      if (key === 'format' && !STRICT_FORMATS.has(String(value))) {
        this.dropped.add(`format: ${String(value)}`);
        continue;
      }
      if (!STRICT_KEYWORDS.has(key) || ((key === '$defs' || key === 'definitions') && path !== '#')) {
        this.problems.push(`${path}: '${key}'`);
        continue;
      }
      out[key] = value;
    }
    if (Object.keys(out).length === 0 || (Object.keys(out).length === 1 && 'description' in out)) {
      this.problems.push(`${path}: a schema that allows any value`);
    }
    if (typeof out.$ref === 'string' && !lookup(this.root, out.$ref)) {
      this.problems.push(`${path}: '$ref' outside $defs (${out.$ref})`);
    }
    if (Array.isArray(out.anyOf)) out.anyOf = out.anyOf.map((b, i) => this.node(b, `${path}/anyOf/${i}`));
    if ('items' in out) {
      if (isObject(out.items)) out.items = this.node(out.items, `${path}/items`);
      else this.problems.push(`${path}: 'items' that is not one schema`);
    }
    const isObjectType =
      out.type === 'object' ||
      (Array.isArray(out.type) && out.type.includes('object')) ||
      'properties' in out;
    if (isObjectType) this.object(out, path);
    return out;
  }

  private object(out: Schema, path: string): void {
    const properties = isObject(out.properties) ? out.properties : {};
    const keys = Object.keys(properties);
    if (out.additionalProperties !== undefined && out.additionalProperties !== false) {
      this.problems.push(`${path}: 'additionalProperties' other than false (a map)`);
      return;
    }
    if (keys.length === 0 && out.additionalProperties !== false) {
      this.problems.push(`${path}: an object without properties (any keys)`);
      return;
    }
    const required = Array.isArray(out.required) ? out.required.filter((k) => typeof k === 'string') : [];
    const unknown = required.filter((k) => !keys.includes(k));
    if (unknown.length > 0)
      this.problems.push(`${path}: required keys without a schema (${unknown.join(', ')})`);
    const added = new Set<string>();
    const next: Schema = {};
    for (const key of keys) {
      const child = this.node(properties[key], `${path}/properties/${key}`);
      if (required.includes(key) || allowsNull(properties[key], this.root)) {
        next[key] = child;
        if (!required.includes(key)) added.add(key);
      } else {
        const wrapper: Schema = { anyOf: [child, { type: 'null' }] };
        this.nullWrappers.add(wrapper);
        next[key] = wrapper;
        added.add(key);
      }
    }
    out.properties = next;
    out.required = keys;
    out.additionalProperties = false;
    // A key that allowed null already: its null stays (the answer may mean it); only added nulls go.
    // An optional key whose schema allowed null already keeps the model's null (it may mean it): the
    // strict model cannot leave it out, so it answers null where the original answer had nothing.
    const strip = new Set([...added].filter((k) => this.nullWrappers.has(next[k] as Schema)));
    this.optionalKeys.set(out, { optional: added, strip });
  }
}

/** Picks the branch of an `anyOf` a value belongs to (objects by their keys). */
function branchFor(branches: Schema[], value: unknown, root: Schema, exactKeys: boolean): Schema | undefined {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  const resolved = branches.map((b) => (typeof b.$ref === 'string' ? (lookup(root, b.$ref) ?? b) : b));
  const fits = (b: Schema) => {
    const types = Array.isArray(b.type) ? b.type : b.type === undefined ? [] : [b.type];
    if (kind === 'object') {
      if (!isObject(b.properties)) return types.includes('object');
      const declared = Object.keys(b.properties);
      const keys = Object.keys(value as Schema);
      return exactKeys
        ? keys.length === declared.length && keys.every((k) => declared.includes(k))
        : keys.every((k) => declared.includes(k));
    }
    if (kind === 'array') return types.includes('array') || 'items' in b;
    return true;
  };
  const index = resolved.findIndex(fits);
  return index === -1 ? undefined : (branches[index] as Schema);
}

function walk(
  transform: Transform,
  root: Schema,
  schema: Schema | undefined,
  value: unknown,
  direction: 'restore' | 'encode',
  depth = 0,
): unknown {
  if (schema === undefined || depth > 200) return value;
  if (typeof schema.$ref === 'string') {
    return walk(transform, root, lookup(root, schema.$ref), value, direction, depth + 1);
  }
  if (Array.isArray(schema.anyOf)) {
    if (value === null) return value;
    const branches = schema.anyOf as Schema[];
    const branch = transform.nullWrappers.has(schema)
      ? branches[0]
      : branchFor(branches, value, root, direction === 'restore');
    return walk(transform, root, branch, value, direction, depth + 1);
  }
  if (Array.isArray(value)) {
    return isObject(schema.items)
      ? value.map((v) => walk(transform, root, schema.items as Schema, v, direction, depth + 1))
      : value;
  }
  if (isObject(value) && isObject(schema.properties)) {
    const properties = schema.properties;
    const keys = transform.optionalKeys.get(schema);
    const out: Schema = {};
    for (const [key, v] of Object.entries(value)) {
      if (direction === 'restore' && v === null && keys?.strip.has(key)) continue;
      out[key] = walk(transform, root, properties[key] as Schema | undefined, v, direction, depth + 1);
    }
    if (direction === 'encode') for (const key of keys?.optional ?? []) if (!(key in out)) out[key] = null;
    return out;
  }
  return value;
}

/** Plans how to send `schema` to a strict-capable model and how to read the answer back. */
export function toStrictSchema(schema: Record<string, unknown>): StrictSchemaPlan {
  const wrap = !isObjectRoot(schema) && refsMovable(schema);
  let original: Schema = schema;
  if (wrap) {
    const { $defs, definitions, ...inner } = schema;
    original = {
      type: 'object',
      properties: { value: inner },
      required: ['value'],
      additionalProperties: false,
      ...($defs !== undefined ? { $defs } : {}),
      ...(definitions !== undefined ? { definitions } : {}),
    };
  }
  const transform = new Transform(original);
  const strictSchema = transform.node(original, '#');
  for (const key of ['$defs', 'definitions'] as const) {
    const defs = original[key];
    if (isObject(defs)) {
      strictSchema[key] = Object.fromEntries(
        Object.entries(defs).map(([name, def]) => [name, transform.node(def, `#/${key}/${name}`)]),
      );
    }
  }
  if (!wrap && !isObjectRoot(schema)) transform.problems.push('#: a root that is not an object');
  const strict = transform.problems.length === 0;
  const unwrap = (answer: unknown) => (wrap && isObject(answer) && 'value' in answer ? answer.value : answer);
  if (!strict) {
    return {
      schema: original,
      strict: false,
      wrapped: wrap,
      problems: transform.problems,
      dropped: [],
      restore: unwrap,
      encode: (answer) => (wrap ? { value: answer } : answer),
    };
  }
  return {
    schema: strictSchema,
    strict: true,
    wrapped: wrap,
    problems: [],
    dropped: [...transform.dropped],
    restore: (answer) => unwrap(walk(transform, strictSchema, strictSchema, answer, 'restore')),
    encode: (answer) =>
      walk(transform, strictSchema, strictSchema, wrap ? { value: answer } : answer, 'encode'),
  };
}
