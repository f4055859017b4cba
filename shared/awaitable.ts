/**
 * A value now or later. The engine's hot path stays synchronous when every part of a step is
 * (a transform whose placeholders the fast path answers): an `await` per layer cost more than the
 * step itself. Code that returns an Awaitable returns a Promise only when it had to wait.
 */
export type Awaitable<T> = T | Promise<T>;

export function isPromise<T>(value: Awaitable<T>): value is Promise<T> {
  return value instanceof Promise;
}

/** `then` for an Awaitable: synchronous when the value is there, errors of `next` thrown as they are. */
export function andThen<T, U>(value: Awaitable<T>, next: (value: T) => Awaitable<U>): Awaitable<U> {
  return isPromise(value) ? value.then(next) : next(value);
}
