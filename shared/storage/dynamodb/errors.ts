/**
 * Turns whatever the DynamoDB client throws into Flowrunner's storage errors: no raw SDK error
 * leaves a DynamoDB adapter. Refused conditions are usually turned into a precise error by the
 * adapter that wrote the condition; the mapping here is the fallback.
 */
import { ConflictError, FlowrunnerError, StorageError, ThrottledError } from '../../errors.js';

/** Names DynamoDB (and the SDK's retry layer) use when a caller must slow down. */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'Throttling',
  'TooManyRequestsException',
]);

const ACCESS_DENIED = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
]);

/** Errors the client raises before any answer: nothing is known about the table yet. */
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

export interface DynamoDbErrorContext {
  /** What was being done, for the message: `put`, `update`, `query`, ... */
  operation: string;
  table: string;
}

export function isConditionalCheckFailure(error: unknown): boolean {
  return (error as SdkErrorShape | undefined)?.name === 'ConditionalCheckFailedException';
}

export function toStorageError(error: unknown, context: DynamoDbErrorContext): FlowrunnerError {
  if (error instanceof FlowrunnerError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const name = typeof shape.name === 'string' ? shape.name : 'UnknownError';
  const message = typeof shape.message === 'string' ? shape.message : '';
  const status = shape.$metadata?.httpStatusCode;
  const { operation, table } = context;
  const details = { table, operation, error: name, ...(status === undefined ? {} : { status }) };

  if (isConditionalCheckFailure(error)) {
    return new ConflictError(`The ${operation} on '${table}' was refused: the item changed meanwhile`, {
      cause: error,
      details,
    });
  }
  // The SDK retries these itself (with backoff); reaching here means its attempts ran out.
  if (THROTTLING.has(name) || shape.$retryable?.throttling === true) {
    return new ThrottledError(`DynamoDB asked to slow down (${operation} on '${table}'); try again later`, {
      cause: error,
      details,
    });
  }
  if (name === 'ResourceNotFoundException') {
    return new StorageError(
      'StorageUnavailable',
      `table '${table}' does not exist: create it (createTables, or deploy the stack) before use`,
      { cause: error, details },
    );
  }
  if (ACCESS_DENIED.has(name)) {
    return new StorageError(
      'StorageAccessDenied',
      `access to the table '${table}' was denied (${operation})`,
      {
        cause: error,
        details,
      },
    );
  }
  if (name === 'ValidationException' && /item size/i.test(message)) {
    return new StorageError(
      'ItemTooLarge',
      `an item for '${table}' is larger than DynamoDB's 400 KB (${operation})`,
      {
        cause: error,
        details,
      },
    );
  }
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  if (
    status === undefined &&
    (name === 'TimeoutError' || (code !== undefined && NETWORK.has(code)) || NETWORK.has(name))
  ) {
    return new StorageError(
      'StorageUnavailable',
      `DynamoDB could not be reached (${operation} on '${table}')`,
      {
        retryable: true,
        cause: error,
        details,
      },
    );
  }
  return new StorageError('StorageError', `DynamoDB ${operation} on '${table}' failed: ${name}`, {
    retryable: status !== undefined && status >= 500,
    cause: error,
    details,
  });
}
