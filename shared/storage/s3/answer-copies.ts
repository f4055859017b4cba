/**
 * Copies of the API's answers that are too large for a Lambda to send (6 MB), under `answers/` in
 * the data bucket, where a lifecycle rule deletes them after a day (infra/stacks/data-stack.ts). Each
 * is handed out as a presigned GET URL: its key is random, so only the caller who was redirected to
 * it can name it.
 */
import { randomBytes } from 'node:crypto';
import { NotFoundError } from '../../errors.js';
import type { AnswerCopies } from '../../ports/index.js';
import { toStorageError } from './errors.js';
import { loadPresigner, type S3ClientSource, s3Access } from './sdk.js';

/** The prefix the data bucket's lifecycle rule expires, and the API's role may write. */
export const ANSWER_COPIES_PREFIX = 'answers/';

/** How long a copy's URL is valid: time enough to follow a redirect. */
export const ANSWER_COPY_URL_EXPIRY_S = 300;

export interface S3AnswerCopiesOptions {
  client: S3ClientSource;
  bucket: string;
}

export function createS3AnswerCopies({ client: source, bucket }: S3AnswerCopiesOptions): AnswerCopies {
  const s3 = s3Access(source);
  return {
    async keep(body, contentType) {
      const Key = `${ANSWER_COPIES_PREFIX}${randomBytes(16).toString('hex')}`;
      const [{ sdk, client }, { getSignedUrl }] = await Promise.all([s3(), loadPresigner()]);
      try {
        await client.send(
          new sdk.PutObjectCommand({
            Bucket: bucket,
            Key,
            Body: body,
            ContentType: contentType,
            CacheControl: 'private, no-store',
          }),
        );
        return await getSignedUrl(client, new sdk.GetObjectCommand({ Bucket: bucket, Key }), {
          expiresIn: ANSWER_COPY_URL_EXPIRY_S,
        });
      } catch (error) {
        throw toStorageError(error, {
          operation: 'put',
          bucket,
          notFound: (cause) => new NotFoundError('Bucket', bucket, { cause }),
        });
      }
    },
  };
}
