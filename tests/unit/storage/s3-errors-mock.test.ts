/**
 * The S3 adapters' error paths that s3rver cannot produce, with aws-sdk-client-mock: every S3
 * failure becomes a typed Flowrunner error, never a raw SDK error, and the commands are exact.
 */
import { Readable } from 'node:stream';
import {
  AccessDenied,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchBucket,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { NotFoundError, StorageError, ThrottledError } from '../../../shared/errors.js';
import { createS3Artifacts } from '../../../shared/storage/s3/artifacts.js';
import { createS3PayloadBlobs } from '../../../shared/storage/s3/payload-blobs.js';
import { failure } from '../../support/failure.js';
import {
  awsException,
  awsServiceException,
  MOCK_AWS_CLIENT_CONFIG,
  mockAwsClient,
} from '../../support/sdk-errors.js';

const BUCKET = 'flowrunner-artifacts';
const CURSOR_KEY = 'artifact-cursor-key-for-tests';

function setup() {
  const { client, mock: s3 } = mockAwsClient(S3Client);
  const artifacts = createS3Artifacts({ client, bucket: BUCKET, cursorKey: CURSOR_KEY });
  return { client, s3, artifacts };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('S3 artifacts: error mapping', () => {
  it('turns NoSuchKey on get into NotFoundError, after asking for runs/<run_id>/artifacts/<name>', async () => {
    const { s3, artifacts } = setup();
    s3.on(GetObjectCommand).rejects(awsException(NoSuchKey, 'The specified key does not exist.', 404));

    const error = await failure(artifacts.get('run_1', 'reports/q1.pdf'));

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toBe("Artifact 'reports/q1.pdf' was not found");
    expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Key: 'runs/run_1/artifacts/reports/q1.pdf',
    });
  });

  it('turns a 404 HEAD (which has no body, so no error name) into NotFoundError', async () => {
    const { s3, artifacts } = setup();
    s3.on(HeadObjectCommand).rejects(awsServiceException(S3ServiceException, 'UnknownError', 404));

    expect(await failure(artifacts.url('run_1', 'gone.txt'))).toBeInstanceOf(NotFoundError);
  });

  it('turns NoSuchBucket into StorageUnavailable, not retryable', async () => {
    const { s3, artifacts } = setup();
    s3.on(PutObjectCommand).rejects(awsException(NoSuchBucket, 'The specified bucket does not exist', 404));

    const error = await failure(artifacts.put('run_1', 'a.txt', 'x'));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({
      code: 'StorageUnavailable',
      retryable: false,
      message: `the bucket '${BUCKET}' does not exist`,
    });
  });

  it('turns AccessDenied into StorageAccessDenied, not retryable', async () => {
    const { s3, artifacts } = setup();
    s3.on(GetObjectCommand).rejects(awsException(AccessDenied, 'Access Denied', 403));

    const error = await failure(artifacts.get('run_1', 'a.txt'));

    expect(error).toMatchObject({
      code: 'StorageAccessDenied',
      retryable: false,
      message: `access to the bucket '${BUCKET}' was denied (get)`,
    });
  });

  it('turns a 403 HEAD into StorageAccessDenied, though the SDK cannot name it', async () => {
    const { s3, artifacts } = setup();
    s3.on(HeadObjectCommand).rejects(awsServiceException(S3ServiceException, 'UnknownError', 403));

    expect(await failure(artifacts.url('run_1', 'a.txt'))).toMatchObject({ code: 'StorageAccessDenied' });
  });

  it('turns SlowDown (after the SDK gave up retrying) into a retryable ThrottledError', async () => {
    const { s3, artifacts } = setup();
    s3.on(ListObjectsV2Command).rejects(
      awsServiceException(S3ServiceException, 'SlowDown', 503, 'Please reduce your request rate.'),
    );

    const error = await failure(artifacts.list('run_1'));

    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({ code: 'Throttled', retryable: true });
  });

  it('turns a refused connection into a retryable StorageUnavailable', async () => {
    const { s3, artifacts } = setup();
    s3.on(PutObjectCommand).rejects(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
    );

    const error = await failure(artifacts.put('run_1', 'a.txt', 'x'));

    expect(error).toMatchObject({ code: 'StorageUnavailable', retryable: true });
  });

  it('turns any other S3 error into a StorageError that names it; a 5xx may be retried', async () => {
    const { s3, artifacts } = setup();
    s3.on(GetObjectCommand).rejects(awsServiceException(S3ServiceException, 'InternalError', 500));

    const error = await failure(artifacts.get('run_1', 'a.txt'));

    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({
      code: 'StorageError',
      retryable: true,
      message: `S3 get in '${BUCKET}' failed: InternalError`,
    });
  });

  it('sends the content type and bytes it was given', async () => {
    const { s3, artifacts } = setup();
    s3.on(PutObjectCommand).resolves({});

    await artifacts.put('run_1', 'data.json', '{"a":1}', 'application/json');

    const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Bucket: BUCKET,
      Key: 'runs/run_1/artifacts/data.json',
      ContentType: 'application/json',
    });
    expect(Buffer.from(input?.Body as Uint8Array).toString()).toBe('{"a":1}');
  });

  it('cuts a listing of more than one page itself, and leaves out an artifact deleted before its HEAD', async () => {
    const { s3, artifacts } = setup();
    const prefix = 'runs/run_1/artifacts/';
    s3.on(ListObjectsV2Command).resolves({
      Contents: ['c.txt', 'a.txt', 'b.txt'].map((name) => ({ Key: prefix + name })),
      IsTruncated: false,
    });
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: `${prefix}a.txt` })
      .rejects(awsServiceException(S3ServiceException, 'NotFound', 404))
      .on(HeadObjectCommand, { Bucket: BUCKET, Key: `${prefix}b.txt` })
      .resolves({
        ContentLength: 3,
        ContentType: 'text/plain',
        LastModified: new Date('2026-01-01T00:00:00Z'),
      });

    const page = await artifacts.list('run_1', { limit: 2 });

    expect(s3.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toEqual({
      Bucket: BUCKET,
      Prefix: prefix,
    });
    expect(page.items).toEqual([
      { name: 'b.txt', size: 3, content_type: 'text/plain', updated_at: '2026-01-01T00:00:00.000Z' },
    ]);
    expect(page.next_cursor).toBeDefined();
  });
});

describe('S3 payload blobs: error mapping', () => {
  it('answers has() with false for a missing payload, and maps a denied HEAD', async () => {
    const { client, s3 } = setup();
    const blobs = createS3PayloadBlobs({ client, bucket: BUCKET });
    s3.on(HeadObjectCommand, { Key: 'runs/r/payloads/missing.json' })
      .rejects(awsServiceException(S3ServiceException, 'NotFound', 404))
      .on(HeadObjectCommand, { Key: 'runs/r/payloads/denied.json' })
      .rejects(awsServiceException(S3ServiceException, 'UnknownError', 403));

    expect(await blobs.has('runs/r/payloads/missing.json')).toBe(false);
    expect(await failure(blobs.has('runs/r/payloads/denied.json'))).toMatchObject({
      code: 'StorageAccessDenied',
    });
  });

  it('turns NoSuchKey on get into NotFoundError for the payload', async () => {
    const { client, s3 } = setup();
    s3.on(GetObjectCommand).rejects(awsException(NoSuchKey, 'no', 404));

    const error = await failure(
      createS3PayloadBlobs({ client, bucket: BUCKET }).get('runs/r/payloads/x.json'),
    );

    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toBe("Payload 'runs/r/payloads/x.json' was not found");
  });
});

describe('S3 artifacts: throttling through the real SDK retry layer', () => {
  it('lets the SDK retry SlowDown with backoff, then fails with ThrottledError', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    let requests = 0;
    const slowDown = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`;
    const client = new S3Client({
      ...MOCK_AWS_CLIENT_CONFIG,
      maxAttempts: 3,
      requestHandler: {
        async handle() {
          requests++;
          const response = {
            statusCode: 503,
            headers: { 'content-type': 'application/xml' },
            body: Readable.from([Buffer.from(slowDown)]),
          };
          return { response };
        },
      },
    });
    const artifacts = createS3Artifacts({ client, bucket: BUCKET, cursorKey: CURSOR_KEY });

    let settled = false;
    const listing = failure(artifacts.list('run_1')).finally(() => {
      settled = true;
    });
    // The SDK waits up to a second between throttled attempts; fake time skips the waits.
    for (let tick = 0; !settled && tick < 100; tick++) {
      await new Promise((resolve) => setImmediate(resolve));
      await vi.advanceTimersByTimeAsync(1000);
    }
    const error = await listing;

    expect(requests).toBe(3);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error.cause as { name?: string }).name).toBe('SlowDown');
  });
});
