/** What a test file starts and stops around its tests: servers, runtimes, stores, directories. */
import { afterAll, afterEach, beforeAll } from 'vitest';

/**
 * Registers an `afterEach` that runs the cleanups deferred during the test, last first. Every one
 * runs even when another fails; the first failure is then reported.
 */
export function cleanupAfterEach(): (cleanup: () => unknown) => void {
  const pending: Array<() => unknown> = [];
  afterEach(async () => {
    const failures: unknown[] = [];
    for (const cleanup of pending.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  });
  return (cleanup) => {
    pending.push(cleanup);
  };
}

/**
 * Starts something before a file's tests and stops it after them; the function returned gives it
 * to the tests (and to hooks that run after the start).
 */
export function startedForFile<T>(
  start: () => Promise<T>,
  stop: (started: T) => Promise<void>,
  name: string,
): () => T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    if (started !== undefined) await stop(started);
  });
  return () => {
    if (started === undefined) throw new Error(`${name} is not started: use it inside a test or a hook`);
    return started;
  };
}
