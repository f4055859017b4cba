/**
 * A store with some methods replaced, every other one called on the store itself: fault injection
 * and counting around a real adapter, whose classes keep private state (`#table`) that a spread
 * copy or a prototype-derived object could not reach.
 */
export function overriding<T extends object>(store: T, overrides: Partial<T>): T {
  return new Proxy(store, {
    get(target, property) {
      if (property in overrides) return overrides[property as keyof T];
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
