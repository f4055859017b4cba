/** The SecretSource on AWS: `secrets.NAME` is the SecretString of `<prefix>NAME` in Secrets Manager, cached briefly. */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { systemClock } from '../adapters/clock.js';
import { ConfigurationError, FlowrunnerError } from '../errors.js';
import type { Clock, SecretSource } from '../ports/index.js';
import { checkSecretName } from './names.js';

export interface SecretsManagerSourceOptions {
  client: SecretsManagerClient;
  /** Put before every name to form the SecretId; default `flowrunner/`. */
  prefix?: string;
  /** How long a fetched value is reused; default 60 s. A warm Lambda thus sees a rotated secret within a minute. */
  ttlMs?: number;
  clock?: Clock;
}

export const DEFAULT_SECRET_PREFIX = 'flowrunner/';
export const DEFAULT_SECRET_TTL_MS = 60_000;

const THROTTLING = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);

interface CacheEntry {
  value: Promise<string>;
  /** Unset while the fetch is under way: callers in that time share it. */
  expiresAt?: number;
}

export function createSecretsManagerSource(options: SecretsManagerSourceOptions): SecretSource {
  const { client } = options;
  const prefix = options.prefix ?? DEFAULT_SECRET_PREFIX;
  const ttlMs = options.ttlMs ?? DEFAULT_SECRET_TTL_MS;
  const clock = options.clock ?? systemClock;
  const cache = new Map<string, CacheEntry>();

  async function read(name: string): Promise<string> {
    const secretId = prefix + name;
    let answer: { SecretString?: string | undefined; SecretBinary?: Uint8Array | undefined };
    try {
      answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    } catch (error) {
      throw toSecretError(error, name, secretId);
    }
    if (answer.SecretString === undefined) {
      throw new ConfigurationError(
        `secret '${name}' (${secretId}) holds binary data; only text secrets (SecretString) are supported`,
        { code: 'SecretUnsupported', details: { secret: name, secret_id: secretId } },
      );
    }
    return answer.SecretString;
  }

  return {
    get(name) {
      try {
        checkSecretName(name);
      } catch (error) {
        return Promise.reject(error);
      }
      const now = clock.now().getTime();
      const cached = cache.get(name);
      if (cached !== undefined && (cached.expiresAt === undefined || now < cached.expiresAt))
        return cached.value;
      const entry: CacheEntry = { value: read(name) };
      cache.set(name, entry);
      entry.value.then(
        () => {
          entry.expiresAt = clock.now().getTime() + ttlMs;
        },
        () => {
          // A failure is not remembered: the next step asks again (a secret created since is found).
          if (cache.get(name) === entry) cache.delete(name);
        },
      );
      return entry.value;
    },
  };
}

/** The message names the secret and where it was looked for; never a value (there is none on a failure). */
function toSecretError(error: unknown, name: string, secretId: string): FlowrunnerError {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  const errorName = typeof shape.name === 'string' ? shape.name : 'UnknownError';
  const status = shape.$metadata?.httpStatusCode;
  const details = { secret: name, secret_id: secretId };

  if (errorName === 'ResourceNotFoundException') {
    return new ConfigurationError(`secret '${name}' was not found (looked for ${secretId})`, {
      code: 'SecretNotFound',
      cause: error,
      details,
    });
  }
  if (errorName === 'AccessDeniedException' || status === 403) {
    return new ConfigurationError(
      `access to secret '${name}' (${secretId}) was denied: grant secretsmanager:GetSecretValue on it`,
      { code: 'SecretAccessDenied', cause: error, details },
    );
  }
  if (THROTTLING.has(errorName) || shape.$retryable?.throttling === true) {
    // The SDK has retried already; the step's own retry policy may try again later.
    return new FlowrunnerError('SecretsThrottled', `Secrets Manager throttled the read of secret '${name}'`, {
      retryable: true,
      cause: error,
      details,
    });
  }
  // An internal error or a broken connection may pass; a decryption failure or a deleted secret will not.
  const transient = errorName === 'InternalServiceError' || status === undefined || status >= 500;
  return new ConfigurationError(`secret '${name}' (${secretId}) could not be read: ${errorName}`, {
    code: 'SecretUnavailable',
    retryable: transient,
    cause: error,
    details: { ...details, error: errorName },
  });
}
