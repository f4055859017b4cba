/**
 * What the tests of the real providers (OpenAI, Bedrock) share: the schema of the answer they ask for,
 * the request, how a failure is caught, and the loopback fake of the provider's service, started once
 * per file and reset after every test.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { StepError } from '../../../shared/errors.js';
import type { AiRequest } from '../../../shared/ports/index.js';

/** A welcome mail: a strict-mode schema once its optional `cc` is made nullable. */
export const mail = {
  type: 'object',
  required: ['subject', 'body'],
  properties: { subject: { type: 'string', minLength: 3 }, body: { type: 'string' }, cc: { type: 'string' } },
};

export function request(extra: Partial<AiRequest> = {}): AiRequest {
  return {
    messages: [
      { role: 'system', content: 'You write mails.' },
      { role: 'user', content: 'Welcome Ann' },
    ],
    json_schema: mail,
    timeoutMs: 5_000,
    ...extra,
  };
}

/** The StepError a provider call ends with (and fails the test when it succeeds or throws another error). */
export async function failure(promise: Promise<unknown>): Promise<StepError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StepError);
  return error as StepError;
}

/** What every loopback fake of a provider's service has: what it was sent, and a script of replies. */
interface LoopbackFake {
  requests: unknown[];
  script(): void;
  close(): Promise<void>;
}

/**
 * Starts the fake before the file's tests and closes it after them; after each test it forgets the
 * requests and the script, so no test sees another's. The answer reads the fake while the tests run.
 */
export function loopbackFake<F extends LoopbackFake>(start: () => Promise<F>): () => F {
  let fake: F | undefined;
  beforeAll(async () => {
    fake = await start();
  });
  afterAll(async () => {
    await fake?.close();
  });
  afterEach(() => {
    fake!.requests.length = 0;
    fake!.script();
  });
  return () => fake!;
}
