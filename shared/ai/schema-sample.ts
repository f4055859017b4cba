/**
 * Makes a JSON value that fits a JSON Schema, deterministically from a seeded random source: the
 * mock AI provider's answers.
 *
 * Understood: `type` (a list picks its first non-null type), `const`, `enum`, `properties`,
 * `required`, `additionalProperties`, `minProperties`/`maxProperties`, `items`, `prefixItems`,
 * `contains`, `minItems`/`maxItems`, `uniqueItems`, `minimum`/`maximum` and their exclusive forms,
 * `multipleOf`, `minLength`/`maxLength`, `pattern` (see regex-sample.ts; else `examples` or
 * `default`), `format` (email, date-time, date, time, uri, url, uuid, hostname, ipv4, ipv6), `allOf`
 * (merged), `anyOf`/`oneOf` (the first branch), `$ref` to `#`, `#/$defs/…` or `#/definitions/…`.
 * Limits: a `oneOf` whose first branch also fits another branch, a fractional `multipleOf`, a
 * `format` with length bounds, `patternProperties`, `propertyNames`, `dependentRequired`, `not` and
 * `if`/`then` are not honoured, so such a schema may get a value that does not validate.
 *
 * A sample is bounded (MAX_SAMPLE_VALUES values, MAX_SAMPLE_CHARS characters of JSON): a schema that
 * asks for more (`minItems`, `minProperties`, `minLength`, nesting) is refused with a non-retryable
 * `AiResponseTooLarge` StepError, the mock provider's failure, rather than answered. A 200-byte schema
 * of 100,000 strings of 100,000 characters each took 3.4 GB and crashed the server.
 */
import { StepError } from '../errors.js';
import { type Random, sampleRegex } from './regex-sample.js';

export type { Random } from './regex-sample.js';

type Schema = Record<string, unknown>;

/** mulberry32: a small, fast, seeded PRNG with good enough spread for test data. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a over the UTF-16 code units of a text: a 32-bit seed from a string. */
export function hashText(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Below this depth optional properties are left out and arrays keep their minimum size. */
const RICH_DEPTH = 6;
/** A schema that is still nesting here (a recursive `$ref` with required members) gets null. */
const MAX_DEPTH = 32;
const MAX_REF_HOPS = 64;
/** The most values (of any type, nested ones included) a sample is made of. */
export const MAX_SAMPLE_VALUES = 100_000;
/** The most characters of JSON a sample may take: half of what a real provider's answer may be. */
export const MAX_SAMPLE_CHARS = 4 * 1024 * 1024;
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const LOWER_BOUNDS = new Set(['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties']);
const UPPER_BOUNDS = new Set(['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties']);

/** Both schemas at once, as far as a generator needs: properties merged, required joined, bounds tightened. */
function merge(a: Schema, b: Schema): Schema {
  const merged: Schema = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const before = merged[key];
    if (key === 'properties' && isSchema(before) && isSchema(value)) merged[key] = { ...before, ...value };
    else if (key === 'required' && Array.isArray(before) && Array.isArray(value)) {
      merged[key] = [...new Set([...before, ...value])];
    } else if (typeof before === 'number' && typeof value === 'number' && LOWER_BOUNDS.has(key)) {
      merged[key] = Math.max(before, value);
    } else if (typeof before === 'number' && typeof value === 'number' && UPPER_BOUNDS.has(key)) {
      merged[key] = Math.min(before, value);
    } else merged[key] = value;
  }
  return merged;
}

function sampleTooLarge(): StepError {
  return new StepError(
    'AiResponseTooLarge',
    `json_schema asks for an answer larger than the mock model makes (at most ${MAX_SAMPLE_VALUES.toLocaleString('en-US')} values and ${MAX_SAMPLE_CHARS / 1024 / 1024} MiB of JSON): lower its minItems, minProperties or minLength`,
    { retryable: false, details: { max_values: MAX_SAMPLE_VALUES, max_chars: MAX_SAMPLE_CHARS } },
  );
}

class Sampler {
  /** What the sample has used of its budget so far, discarded draws included. */
  #values = 0;
  #chars = 0;

  constructor(
    readonly root: Schema,
    readonly random: Random,
  ) {}

  /** Counts `chars` characters of JSON towards the bound, or throws when they go over it. */
  spend(chars: number): void {
    this.#chars += chars;
    if (this.#chars > MAX_SAMPLE_CHARS) throw sampleTooLarge();
  }

  /** Throws before a container of `count` members, or a string of `chars` characters, is begun that cannot fit. */
  reserve(count: number, chars = 0): void {
    if (this.#values + count > MAX_SAMPLE_VALUES || this.#chars + chars > MAX_SAMPLE_CHARS) {
      throw sampleTooLarge();
    }
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  /** The schema with `$ref`, `allOf` and the first branch of `anyOf`/`oneOf` folded in. */
  resolve(schema: Schema, hops = 0): Schema {
    if (hops > MAX_REF_HOPS) return {};
    let current = schema;
    if (typeof current.$ref === 'string') {
      const { $ref, ...rest } = current;
      current = merge(this.lookup($ref), rest);
      return this.resolve(current, hops + 1);
    }
    if (Array.isArray(current.allOf)) {
      const { allOf, ...rest } = current;
      current = allOf
        .filter(isSchema)
        .reduce((acc: Schema, part) => merge(acc, this.resolve(part, hops + 1)), rest);
    }
    for (const key of ['anyOf', 'oneOf'] as const) {
      const branches = current[key];
      if (Array.isArray(branches) && isSchema(branches[0])) {
        const { [key]: _branches, ...rest } = current;
        current = merge(rest, this.resolve(branches[0], hops + 1));
      }
    }
    return current;
  }

  lookup(ref: string): Schema {
    if (ref === '#') return this.root;
    if (!ref.startsWith('#/')) return {};
    let node: unknown = this.root;
    for (const part of ref.slice(2).split('/')) {
      const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
      node = isSchema(node) ? node[safeDecode(key)] : undefined;
    }
    return isSchema(node) ? node : {};
  }

  value(input: unknown, depth: number): unknown {
    this.#values++;
    if (this.#values > MAX_SAMPLE_VALUES) throw sampleTooLarge();
    const value = this.unbudgeted(input, depth);
    // Containers count their brackets and separators; their members counted themselves.
    if (typeof value === 'object' && value !== null) this.spend(2);
    else this.spend((JSON.stringify(value) ?? '').length + 1);
    return value;
  }

  unbudgeted(input: unknown, depth: number): unknown {
    if (depth > MAX_DEPTH) return null;
    if (!isSchema(input)) return input === false ? null : this.word();
    const schema = this.resolve(input);
    if ('const' in schema) return this.fixed(schema.const);
    if (Array.isArray(schema.enum) && schema.enum.length > 0) return this.fixed(this.pick(schema.enum));
    switch (typeOf(schema)) {
      case 'null':
        return null;
      case 'boolean':
        return this.random() < 0.5;
      case 'integer':
        return this.number(schema, true);
      case 'number':
        return this.number(schema, false);
      case 'array':
        return this.array(schema, depth);
      case 'object':
        return this.object(schema, depth);
      default:
        return this.string(schema);
    }
  }

  /** A value written in the schema (`const`, `enum`), whose containers are not counted by `value`. */
  fixed(value: unknown): unknown {
    if (typeof value === 'object' && value !== null) this.spend(JSON.stringify(value).length);
    return value;
  }

  number(schema: Schema, integer: boolean): number {
    let lo = -Infinity;
    let hi = Infinity;
    let loOpen = false;
    let hiOpen = false;
    if (typeof schema.minimum === 'number') lo = schema.minimum;
    if (typeof schema.exclusiveMinimum === 'number' && schema.exclusiveMinimum >= lo) {
      lo = schema.exclusiveMinimum;
      loOpen = true;
    }
    if (typeof schema.maximum === 'number') hi = schema.maximum;
    if (typeof schema.exclusiveMaximum === 'number' && schema.exclusiveMaximum <= hi) {
      hi = schema.exclusiveMaximum;
      hiOpen = true;
    }
    // Keep values small and readable: a window of 1,000 inside the allowed range.
    if (!Number.isFinite(lo) && !Number.isFinite(hi)) [lo, hi] = [0, 100];
    else if (!Number.isFinite(lo)) [lo, loOpen] = [hi - 1000, false];
    else if (!Number.isFinite(hi) || hi - lo > 1000) [hi, hiOpen] = [lo + 1000, false];
    const step =
      typeof schema.multipleOf === 'number' && schema.multipleOf > 0 ? schema.multipleOf : integer ? 1 : 0;
    if (step > 0) {
      let first = Math.ceil(lo / step);
      let last = Math.floor(hi / step);
      if (loOpen && first * step <= lo) first++;
      if (hiOpen && last * step >= hi) last--;
      return first <= last ? this.int(first, last) * step : lo;
    }
    // A number that happens to be whole reads best; a range too narrow for one gets its middle.
    let first = Math.ceil(lo);
    let last = Math.floor(hi);
    if (loOpen && first <= lo) first++;
    if (hiOpen && last >= hi) last--;
    return first <= last ? this.int(first, last) : (lo + hi) / 2;
  }

  string(schema: Schema): string {
    if (typeof schema.format === 'string') {
      const formatted = this.formatted(schema.format);
      if (formatted !== undefined) return formatted;
    }
    if (typeof schema.pattern === 'string') {
      const matched = sampleRegex(schema.pattern, this.random);
      if (matched !== undefined) return matched;
      const known = [...(Array.isArray(schema.examples) ? schema.examples : []), schema.default];
      const fitting = known.find(
        (v): v is string => typeof v === 'string' && safeTest(schema.pattern as string, v),
      );
      if (fitting !== undefined) return fitting;
    }
    const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
    const hi = Math.max(min, Math.min(max, min + 20));
    const length = this.int(Math.max(min, Math.min(5, hi)), hi);
    this.reserve(0, length);
    // Words read better than noise in a demo; cut to the length, never ending on a space.
    let text = this.word();
    while (text.length < length) text += ` ${this.word()}`;
    text = text.slice(0, length);
    return text.endsWith(' ') ? `${text.slice(0, -1)}s` : text;
  }

  formatted(format: string): string | undefined {
    const n = this.int(1, 999);
    const day = new Date(
      Date.UTC(2024, 0, 1) + this.int(0, 3 * 365) * 86_400_000 + this.int(0, 86_399) * 1000,
    );
    switch (format) {
      case 'email':
        return `${this.word()}${n}@example.com`;
      case 'date-time':
        return day.toISOString().replace('.000Z', 'Z');
      case 'date':
        return day.toISOString().slice(0, 10);
      case 'time':
        return `${day.toISOString().slice(11, 19)}Z`;
      case 'uri':
      case 'url':
      case 'iri':
        return `https://example.com/${this.word()}/${n}`;
      case 'uuid': {
        const hex = () => this.int(0, 15).toString(16);
        const block = (size: number) => Array.from({ length: size }, hex).join('');
        return `${block(8)}-${block(4)}-4${block(3)}-${this.pick(['8', '9', 'a', 'b'])}${block(3)}-${block(12)}`;
      }
      case 'hostname':
        return `${this.word()}${n}.example.com`;
      case 'ipv4':
        return `192.0.2.${n % 256}`;
      case 'ipv6':
        return `2001:db8::${n.toString(16)}`;
      default:
        return undefined;
    }
  }

  word(): string {
    return this.pick(WORDS);
  }

  array(schema: Schema, depth: number): unknown[] {
    const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
    const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
    const max = Math.min(
      typeof schema.maxItems === 'number' ? schema.maxItems : Infinity,
      schema.items === false ? prefix.length : Infinity,
    );
    // One to three items (at least minItems) while shallow; only minItems once deep.
    const rich = depth < RICH_DEPTH;
    const hi = rich ? Math.min(max, Math.max(min, 1) + 2) : min;
    const lo = rich ? Math.min(Math.max(min, 1), hi) : min;
    const count = Math.max(this.int(lo, Math.max(lo, hi)), schema.contains === undefined ? 0 : 1);
    this.reserve(count);
    const items: unknown[] = [];
    const seen = new Set<string>();
    const unique = schema.uniqueItems === true;
    const add = (value: unknown) => {
      const key = JSON.stringify(value);
      if (unique && seen.has(key)) return;
      seen.add(key);
      items.push(value);
    };
    for (const itemSchema of prefix.slice(0, count)) add(this.value(itemSchema, depth + 1));
    if (schema.contains !== undefined && items.length < count) add(this.value(schema.contains, depth + 1));
    // Unique lists of few possible values may need several draws; give up after a fair number.
    for (let tries = 0; items.length < count && tries < count * 10 + 10; tries++) {
      add(this.value(schema.items ?? true, depth + 1));
    }
    return items;
  }

  object(schema: Schema, depth: number): Record<string, unknown> {
    const properties = isSchema(schema.properties) ? schema.properties : {};
    const required = Array.isArray(schema.required)
      ? schema.required.filter((k): k is string => typeof k === 'string')
      : [];
    const extra = schema.additionalProperties;
    const min = typeof schema.minProperties === 'number' ? schema.minProperties : 0;
    const max = typeof schema.maxProperties === 'number' ? schema.maxProperties : Infinity;
    this.reserve(Math.min(min, max));
    const out: Record<string, unknown> = {};
    // Counted as they are added: `Object.keys(out).length` at each addition made 20,000 properties
    // take 43 s.
    let size = 0;
    const add = (key: string) => {
      if (Object.hasOwn(out, key)) return;
      this.spend(JSON.stringify(key).length + 1);
      out[key] = this.value(Object.hasOwn(properties, key) ? properties[key] : (extra ?? true), depth + 1);
      size++;
    };
    for (const key of required) add(key);
    const requiredSet = new Set(required);
    const optional = Object.keys(properties).filter((k) => !requiredSet.has(k));
    for (const key of optional) {
      if (size >= max) break;
      const wanted = size < min || (depth < RICH_DEPTH && this.random() < 0.5);
      if (wanted) add(key);
    }
    for (let n = 1; size < min && extra !== false; n++) add(`extra_${n}`);
    return out;
  }
}

/** The JSON type a schema asks for, inferred from its keywords when `type` is absent. */
function typeOf(schema: Schema): string {
  const { type } = schema;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) return type.find((t) => t !== 'null') ?? 'null';
  if ('properties' in schema || 'required' in schema || 'additionalProperties' in schema) return 'object';
  if ('items' in schema || 'prefixItems' in schema || 'minItems' in schema) return 'array';
  if (['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'].some((k) => k in schema)) {
    return 'number';
  }
  return 'string';
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function safeTest(pattern: string, text: string): boolean {
  try {
    return new RegExp(pattern, 'u').test(text);
  } catch {
    return false;
  }
}

/** A value that fits `schema`, the same one for the same schema and random source. */
export function sampleFromSchema(schema: Record<string, unknown>, random: Random): unknown {
  return new Sampler(schema, random).value(schema, 0);
}

/** The schema at the root with `$ref`, `allOf` and first `anyOf`/`oneOf` branches folded in. */
export function resolveRootSchema(schema: Record<string, unknown>): Record<string, unknown> {
  return new Sampler(schema, () => 0).resolve(schema);
}
