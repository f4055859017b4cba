/**
 * Copies values in and out of the in-memory stores through JSON, as DynamoDB stores them: callers
 * never share objects with the store (the engine updates states in place), and `undefined` fields
 * vanish exactly as they do in the real store.
 */
export function jsonCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
