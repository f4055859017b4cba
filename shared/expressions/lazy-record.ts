/**
 * A read-only record whose entries are made when first read: the run's steps (engine/context.ts),
 * so that rendering one placeholder does not cost a copy of every step of a 1,000-step run. It is
 * a Proxy, so JSON, JSONata and other code see an ordinary object of its entries. The fast path
 * and the sandbox read an entry through `lazyEntries` instead of the Proxy: each trap costs more
 * than the rest of a path (the trap, then the checks of the Proxy's invariants).
 */

/** Where the entries of a lazy record come from. */
export interface LazyEntries {
  /** The entry under `key`, or undefined when there is none (only its own entries, never inherited ones). */
  entry(key: string): unknown;
  /**
   * `entry(key)[name]` as an own, enumerable field would read it, without making the entry: a path
   * that goes through an entry to one of its fields (`steps.a.output`) reads only that field.
   */
  field(key: string, name: string): unknown;
  keys(): string[];
}

/**
 * The key under which a lazy record hands over its entries: a symbol, which no JSON, JSONata
 * expression or `Object.keys` ever sees. (Not a WeakMap from record to entries: a long-lived
 * WeakMap keeps its values alive through V8's young-generation collections, and with them each
 * run's steps.)
 */
const ENTRIES: unique symbol = Symbol('flowrunner.lazyEntries');

/** One handler for every record (no closures per record): the record's state lives in its target. */
const handler: ProxyHandler<LazyEntries> = {
  get: (source, key) => (typeof key === 'string' ? source.entry(key) : key === ENTRIES ? source : undefined),
  has: (source, key) => typeof key === 'string' && source.entry(key) !== undefined,
  ownKeys: (source) => source.keys(),
  getOwnPropertyDescriptor: (source, key) => {
    const value = typeof key === 'string' ? source.entry(key) : undefined;
    // Configurable, because the target does not hold the property (a Proxy invariant).
    return value === undefined ? undefined : { value, enumerable: true, configurable: true, writable: false };
  },
  getPrototypeOf: () => null,
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
};

/** A record of the entries of `source`, made as they are read. */
export function lazyRecord<V>(source: LazyEntries): Record<string, V> {
  return new Proxy(source, handler) as unknown as Record<string, V>;
}

/** The entries behind a lazy record, or undefined for any other object. */
export function lazyEntries(value: object): LazyEntries | undefined {
  return (value as { [ENTRIES]?: LazyEntries })[ENTRIES];
}
