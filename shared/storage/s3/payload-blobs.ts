/** The claim check's blobs on S3: JSON objects under `runs/<run_id>/payloads/`, beside the run's artifacts. */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError } from '../../errors.js';
import type { PayloadBlobs } from '../claim-check.js';
import { toStorageError } from './errors.js';

export interface S3PayloadBlobsOptions {
  client: S3Client;
  bucket: string;
}

export function createS3PayloadBlobs({ client, bucket }: S3PayloadBlobsOptions): PayloadBlobs {
  async function call<T>(operation: string, key: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw toStorageError(error, {
        operation,
        bucket,
        notFound: (cause) => new NotFoundError('Payload', key, { cause }),
      });
    }
  }

  return {
    async has(key) {
      try {
        await call('head', key, () => client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
        return true;
      } catch (error) {
        if (error instanceof NotFoundError) return false;
        throw error;
      }
    },

    async put(key, body) {
      await call('put', key, () =>
        client.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
        ),
      );
    },

    async get(key) {
      return call('get', key, async () => {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return answer.Body === undefined ? '' : answer.Body.transformToString('utf-8');
      });
    },
  };
}
