/** The claim check's blobs on S3: JSON objects under `runs/<run_id>/payloads/`, beside the run's artifacts. */
import { NotFoundError } from '../../errors.js';
import type { PayloadBlobs } from '../claim-check.js';
import { toStorageError } from './errors.js';
import { type S3ClientSource, s3Access } from './sdk.js';

export interface S3PayloadBlobsOptions {
  /** The client, or how to make it when a payload is first claimed (sdk.ts). */
  client: S3ClientSource;
  bucket: string;
}

export function createS3PayloadBlobs({ client: source, bucket }: S3PayloadBlobsOptions): PayloadBlobs {
  const s3 = s3Access(source);

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
        const { sdk, client } = await s3();
        await call('head', key, () => client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key })));
        return true;
      } catch (error) {
        if (error instanceof NotFoundError) return false;
        throw error;
      }
    },

    async put(key, body) {
      const { sdk, client } = await s3();
      await call('put', key, () =>
        client.send(
          new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json' }),
        ),
      );
    },

    async get(key) {
      const { sdk, client } = await s3();
      return call('get', key, async () => {
        const answer = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: key }));
        return answer.Body === undefined ? '' : answer.Body.transformToString('utf-8');
      });
    },
  };
}
