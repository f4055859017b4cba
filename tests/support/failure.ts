/** The error a call must fail with, checked to be a Flowrunner error (or the class given): never a raw one. */
import { expect } from 'vitest';
import { FlowrunnerError } from '../../shared/errors.js';

export async function failure<E extends Error = FlowrunnerError>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => E = FlowrunnerError as never,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error('expected a failure');
}
