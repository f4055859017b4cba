/** What the trigger adapters need to know of an error an AWS SDK client threw: its name, and whether waiting may help. */

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

export interface AwsFailure {
  /** The service's exception name (`ConflictException`), or `UnknownError`. */
  name: string;
  message: string;
  /** Throttled, a server fault, or no answer at all: the same call may succeed later. */
  transient: boolean;
}

export function awsFailure(error: unknown): AwsFailure {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    message?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: { throttling?: boolean };
  };
  const name = typeof shape.name === 'string' ? shape.name : 'UnknownError';
  const status = shape.$metadata?.httpStatusCode;
  const transient =
    THROTTLING.has(name) ||
    shape.$retryable?.throttling === true ||
    shape.$fault === 'server' ||
    status === undefined ||
    status >= 500;
  return { name, message: typeof shape.message === 'string' ? shape.message : '', transient };
}
