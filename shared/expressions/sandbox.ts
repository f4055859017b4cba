/**
 * The data side of the sandbox: what JSONata reads is a read-only, prototype-free view of the host
 * data, and what it returns is turned back into plain JSON.
 *
 * JSONata reads `obj[key]` and calls any JavaScript function it finds in its input. Step outputs and
 * run state are meant to be JSON, but nothing stops a custom step or an adapter from putting a
 * function, a class instance or an accessor in them, and one reachable function (`Function` itself,
 * say) is the whole host. So expressions never see the host objects: each object becomes a Proxy
 * over an object without a prototype that shows only the source's own enumerable JSON values
 * (functions, symbols and bigints are invisible, `constructor`/`__proto__`/`prototype` exist only
 * as ordinary data keys) and refuses every write. Views are made lazily, on the first read of each
 * object, so an expression that reads one field of one step does not copy the whole run.
 *
 * Names such as `constructor` are not refused in expressions: jsonata 2.x already reads only own
 * properties, API responses do have such fields, and with views there is nothing behind them.
 * The built-ins keep their behaviour (budget.ts runs each within the evaluation's budget): `$eval`
 * parses into the same evaluator, with the same data, hooks and budget; `$now`, `$millis` and
 * `$random` hand out values, not capabilities. No built-in reads the environment, files or the
 * network.
 */
import { setOwn } from './json.js';
import { type LazyEntries, lazyEntries } from './lazy-record.js';

/** Read through a view to reach its source, so that a result which is a piece of the data is copied from the source directly. */
const SOURCE = Symbol('view source');

const isOwnEnumerable = Object.prototype.propertyIsEnumerable;

/** The host object behind a view, or undefined for anything that is not a view. */
export function sourceOf(value: object): object | undefined {
  return (value as { [SOURCE]?: object })[SOURCE];
}

/** A JSON-only view of a host value: primitives as they are, objects as read-only views, arrays copied. */
export function view(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object': {
      if (value === null) return null;
      // Arrays are copied rather than proxied: JSONata tags arrays it handles (`keepSingleton`)
      // and relies on Array.isArray. Their object items are still lazy views.
      if (Array.isArray(value)) return Array.from(value, (item) => view(item) ?? null);
      const toJSON = (value as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === 'function') return view(toJSON.call(value));
      return new Proxy(Object.create(null) as object, new ObjectView(value as Record<string, unknown>));
    }
    default:
      return undefined;
  }
}

/** Proxy traps over one source object; the target is an empty, prototype-free, never-written object. */
class ObjectView implements ProxyHandler<object> {
  /** Views of the children read so far: the same key gives the same view, and an array is copied once. */
  #children: Map<string, unknown> | undefined;
  /** Set when the source is a lazy record (the run's steps): its entries are read without its Proxy. */
  readonly #lazy: LazyEntries | undefined;

  constructor(private readonly source: Record<string, unknown>) {
    this.#lazy = lazyEntries(source);
  }

  get(_target: object, key: string | symbol): unknown {
    if (typeof key !== 'string') return key === SOURCE ? this.source : undefined;
    if (this.#children?.has(key)) return this.#children.get(key);
    const value =
      this.#lazy !== undefined
        ? this.#lazy.entry(key)
        : isOwnEnumerable.call(this.source, key)
          ? this.source[key]
          : undefined;
    if (value === null || typeof value !== 'object') return view(value);
    const child = view(value);
    this.#children ??= new Map();
    this.#children.set(key, child);
    return child;
  }

  getOwnPropertyDescriptor(target: object, key: string | symbol): PropertyDescriptor | undefined {
    const value = typeof key === 'string' ? this.get(target, key) : undefined;
    // Configurable, because the target does not hold the property (a Proxy invariant).
    return value === undefined ? undefined : { value, writable: false, enumerable: true, configurable: true };
  }

  has(target: object, key: string | symbol): boolean {
    return typeof key === 'string' && this.get(target, key) !== undefined;
  }

  ownKeys(target: object): string[] {
    return Object.keys(this.source).filter((key) => this.get(target, key) !== undefined);
  }

  set(): boolean {
    return false;
  }

  defineProperty(): boolean {
    return false;
  }

  deleteProperty(): boolean {
    return false;
  }

  setPrototypeOf(): boolean {
    return false;
  }

  preventExtensions(): boolean {
    return false;
  }
}

/**
 * Plain JSON from a JSONata result: sequences become plain arrays, views become copies of their
 * source, undefined is dropped from objects and becomes null in arrays (as JSON.stringify does).
 * `fail` is called with what was found when the result holds something that is not data (a function).
 */
export function toJson(value: unknown, fail: (found: string) => never): unknown {
  switch (typeof value) {
    case 'undefined':
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object': {
      if (value === null) return null;
      const source = sourceOf(value);
      if (source !== undefined) return JSON.parse(JSON.stringify(source, hideBigInt));
      if (Array.isArray(value)) return value.map((item) => toJson(item, fail) ?? null);
      const record = value as Record<string, unknown>;
      if (record._jsonata_lambda === true || record._jsonata_function === true) return fail('a function');
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(record)) {
        const item = toJson(record[key], fail);
        if (item !== undefined) setOwn(out, key, item);
      }
      return out;
    }
    case 'function':
      // A regex literal evaluates to a JavaScript function.
      return fail('a function');
    default:
      return fail(`a ${typeof value}`);
  }
}

/** Views hide bigints (JSON has no such number) where JSON.stringify would throw. */
function hideBigInt(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? undefined : value;
}
