/** Turns whatever the S3 client throws into Flowrunner's storage errors: no raw SDK error leaves an S3 adapter. */
import { FlowrunnerError, StorageError, ThrottledError } from '../../errors.js';

/** Names S3 (and the SDK's retry layer) use when a caller must slow down. */
const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);

/** Errors the client raises before any answer: nothing is known about the bucket yet. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export interface S3ErrorContext {
  /** What was being done, for the message: `put`, `get`, `list`, ... */
  operation: string;
  bucket: string;
  /** The domain error for a missing object (NoSuchKey, or 404 on a HEAD that has no body). */
  notFound: (cause: unknown) => FlowrunnerError;
}

export function toStorageError(error: unknown, context: S3ErrorContext): FlowrunnerError {
  if (error instanceof FlowrunnerError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : 'UnknownError';
  const status = shape.$metadata?.httpStatusCode;
  const { operation, bucket } = context;

  if (name === 'NoSuchBucket') {
    return new StorageError('StorageUnavailable', `the bucket '${bucket}' does not exist`, {
      cause: error,
      details: { bucket, operation },
    });
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return context.notFound(error);
  // A HEAD answered 403 carries no body, so the SDK cannot name the error: the status decides.
  if (name === 'AccessDenied' || status === 403) {
    return new StorageError(
      'StorageAccessDenied',
      `access to the bucket '${bucket}' was denied (${operation})`,
      {
        cause: error,
        details: { bucket, operation },
      },
    );
  }
  // The SDK retries these itself (with backoff); reaching here means its attempts ran out.
  if (THROTTLING.has(name) || status === 503 || shape.$retryable?.throttling === true) {
    return new ThrottledError(`S3 asked to slow down (${operation} in '${bucket}'); try again later`, {
      cause: error,
      details: { bucket, operation },
    });
  }
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  if (
    status === undefined &&
    (name === 'TimeoutError' || (code !== undefined && NETWORK.has(code)) || NETWORK.has(name))
  ) {
    return new StorageError('StorageUnavailable', `S3 could not be reached (${operation} in '${bucket}')`, {
      retryable: true,
      cause: error,
      details: { bucket, operation },
    });
  }
  const transient = status !== undefined && status >= 500;
  return new StorageError('StorageError', `S3 ${operation} in '${bucket}' failed: ${name}`, {
    retryable: transient,
    cause: error,
    details: { bucket, operation, error: name, ...(status === undefined ? {} : { status }) },
  });
}
