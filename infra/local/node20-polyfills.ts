// Defines Promise.withResolvers (ES2024, Node 22) on Node 20, only when absent; import this module first.

type WithResolvers = <T>(this: PromiseConstructor) => {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
};

const promiseConstructor = Promise as PromiseConstructor & { withResolvers?: WithResolvers };

/** True when this module had to install `Promise.withResolvers` (the runtime lacked it). */
export const installedPromiseWithResolvers: boolean = typeof promiseConstructor.withResolvers !== 'function';

if (installedPromiseWithResolvers) {
  const withResolvers: WithResolvers = function <T>(this: PromiseConstructor) {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new this<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
  Object.defineProperty(Promise, 'withResolvers', {
    value: withResolvers,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
