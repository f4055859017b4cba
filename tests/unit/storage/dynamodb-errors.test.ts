import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  type FlowrunnerError,
  NotFoundError,
  StorageError,
  ThrottledError,
} from '../../../shared/errors.js';
import { isConditionalCheckFailure, toStorageError } from '../../../shared/storage/dynamodb/errors.js';
import { awsException } from '../../support/sdk-errors.js';

const context = { operation: 'update', table: 'flowrunner-runs' };

describe('toStorageError', () => {
  const cases: Array<[string, unknown, new (...args: never[]) => FlowrunnerError, string, boolean]> = [
    [
      'a refused condition',
      awsException(ConditionalCheckFailedException, 'The conditional request failed', 400),
      ConflictError,
      'Conflict',
      false,
    ],
    [
      'provisioned throughput exceeded',
      awsException(ProvisionedThroughputExceededException, 'slow down', 400),
      ThrottledError,
      'Throttled',
      true,
    ],
    ['a request limit', awsException(RequestLimitExceeded, 'limit', 400), ThrottledError, 'Throttled', true],
    [
      'a missing table',
      awsException(ResourceNotFoundException, 'Requested resource not found', 400),
      StorageError,
      'StorageUnavailable',
      false,
    ],
    ['a server error', awsException(InternalServerError, 'oops', 500), StorageError, 'StorageError', true],
    [
      'an item over 400 KB',
      Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
        name: 'ValidationException',
        $metadata: { httpStatusCode: 400 },
      }),
      StorageError,
      'ItemTooLarge',
      false,
    ],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      StorageError,
      'StorageUnavailable',
      true,
    ],
    ['something unknown', new Error('???'), StorageError, 'StorageError', false],
  ];

  it.each(cases)('maps %s to a domain error, keeping the cause', (_, error, type, code, retryable) => {
    const mapped = toStorageError(error, context);
    expect(mapped).toBeInstanceOf(type);
    expect(mapped).toMatchObject({ code, retryable });
    expect(mapped.cause).toBe(error);
  });

  it('names the table a missing-table error is about', () => {
    const mapped = toStorageError(awsException(ResourceNotFoundException, 'x', 400), context);
    expect(mapped.message).toBe(
      "table 'flowrunner-runs' does not exist: create it (createTables, or deploy the stack) before use",
    );
  });

  it('passes domain errors through unchanged', () => {
    const error = new NotFoundError('Run', 'run_1');
    expect(toStorageError(error, context)).toBe(error);
  });

  it('recognises a refused condition by its name only', () => {
    expect(isConditionalCheckFailure(awsException(ConditionalCheckFailedException, 'x', 400))).toBe(true);
    expect(isConditionalCheckFailure(new Error('ConditionalCheckFailedException'))).toBe(false);
    expect(isConditionalCheckFailure(undefined)).toBe(false);
  });
});
