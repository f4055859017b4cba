/** The ArtifactStore on S3: a run's files under `runs/<run_id>/artifacts/<name>`, handed out by presigned URL. */
import { systemClock } from '../../adapters/clock.js';
import { NotFoundError } from '../../errors.js';
import type { ArtifactInfo, ArtifactStore, Clock, Page } from '../../ports/index.js';
import { CursorCodec } from '../cursor.js';
import { pageLimit } from '../paging.js';
import {
  artifactKey,
  artifactPrefix,
  compareKeys,
  decodeArtifactCursor,
  defaultContentType,
  encodeArtifactCursor,
  OCTET_STREAM,
  urlExpiry,
} from './artifact-rules.js';
import { toStorageError } from './errors.js';
import { loadPresigner, type S3ClientSource, s3Access } from './sdk.js';

export interface S3ArtifactsOptions {
  /** The client, or how to make it when an artifact is first touched (sdk.ts). */
  client: S3ClientSource;
  bucket: string;
  /** Signs list cursors (≥ 16 bytes); the same key in every process that serves the same API. */
  cursorKey: string | Uint8Array;
  /** The time a put reports as `updated_at` (S3 does not return it on PutObject). */
  clock?: Clock;
}

/**
 * Characters of a key CopySource keeps as they are: URI-reserved ones other than '?' and '/'. S3
 * decodes any percent-encoding; the local S3 (s3rver) decodes with decodeURI, which leaves these
 * encoded, so both read the key right only when they are not. ('?' must be encoded, or S3 reads a
 * query: a key with '?' cannot be copied on the local S3.)
 */
const LITERAL_IN_COPY_SOURCE = /%(23|24|26|2B|2C|3A|3B|3D|40)/g;

/** The key as CopyObject's `x-amz-copy-source` wants it: URL-encoded, '/' kept. */
export function copySourceKey(key: string): string {
  return key
    .split('/')
    .map((part) =>
      encodeURIComponent(part).replace(LITERAL_IN_COPY_SOURCE, (code) => decodeURIComponent(code)),
    )
    .join('/');
}

/** HEADs of one listed page run this many at a time: ListObjectsV2 has no content types. */
const HEAD_CONCURRENCY = 8;

export function createS3Artifacts(options: S3ArtifactsOptions): ArtifactStore {
  const { bucket } = options;
  const s3 = s3Access(options.client);
  const clock = options.clock ?? systemClock;
  const cursors = new CursorCodec(options.cursorKey);

  async function call<T>(operation: string, name: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw toStorageError(error, {
        operation,
        bucket,
        notFound: (cause) => new NotFoundError('Artifact', name, { cause }),
      });
    }
  }

  /** By key, not by name: a listing may hold keys that other tools wrote, which the name rules would refuse. */
  async function head(Key: string, name: string): Promise<ArtifactInfo> {
    const { sdk, client } = await s3();
    const answer = await call('head', name, () =>
      client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key })),
    );
    return {
      name,
      size: answer.ContentLength ?? 0,
      content_type: answer.ContentType ?? OCTET_STREAM,
      updated_at: (answer.LastModified ?? clock.now()).toISOString(),
    };
  }

  async function getWithin(
    runId: string,
    name: string,
    maxBytes: number,
  ): Promise<{ info: ArtifactInfo; body?: Uint8Array }> {
    const Key = artifactKey(runId, name);
    const { sdk, client } = await s3();
    return call('get', name, async () => {
      const answer = await client.send(new sdk.GetObjectCommand({ Bucket: bucket, Key }));
      const size = answer.ContentLength;
      const info: ArtifactInfo = {
        name,
        size: size ?? 0,
        content_type: answer.ContentType ?? OCTET_STREAM,
        updated_at: (answer.LastModified ?? clock.now()).toISOString(),
      };
      if (size !== undefined && size > maxBytes) {
        // Closes the connection rather than reading a body nobody will use.
        (answer.Body as { destroy?: () => void } | undefined)?.destroy?.();
        return { info };
      }
      // The body is read inside `call`: a connection that breaks mid-stream is a storage error too.
      const body = answer.Body === undefined ? new Uint8Array() : await answer.Body.transformToByteArray();
      if (size !== undefined) return { info, body };
      info.size = body.byteLength;
      return body.byteLength > maxBytes ? { info } : { info, body };
    });
  }

  return {
    getWithin,

    async put(runId, name, body, contentType) {
      const Key = artifactKey(runId, name);
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
      const content_type = contentType ?? defaultContentType(body);
      const { sdk, client } = await s3();
      await call('put', name, () =>
        client.send(
          new sdk.PutObjectCommand({ Bucket: bucket, Key, Body: bytes, ContentType: content_type }),
        ),
      );
      return { name, size: bytes.byteLength, content_type, updated_at: clock.now().toISOString() };
    },

    async get(runId, name) {
      const found = await getWithin(runId, name, Number.POSITIVE_INFINITY);
      return { info: found.info, body: found.body ?? new Uint8Array() };
    },

    async list(runId, page) {
      const prefix = artifactPrefix(runId);
      const limit = pageLimit(page);
      const after =
        page?.cursor === undefined ? undefined : prefix + decodeArtifactCursor(cursors, runId, page.cursor);
      // No MaxKeys: S3 answers up to 1,000 keys, and the page is cut here. s3rver lists in directory
      // order rather than key order, and fails on a truncated ListObjectsV2 (its continuation tokens
      // need DES, which Node's OpenSSL 3 lacks); sorting and cutting here is right on both.
      const { sdk, client } = await s3();
      const answer = await call('list', '', () =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(after === undefined ? {} : { StartAfter: after }),
          }),
        ),
      );
      const keys = (answer.Contents ?? [])
        .flatMap((object) => (object.Key === undefined ? [] : [object.Key]))
        .filter((key) => key.startsWith(prefix) && (after === undefined || compareKeys(key, after) > 0))
        .sort(compareKeys);
      const names = keys.slice(0, limit).map((key) => key.slice(prefix.length));
      const items: ArtifactInfo[] = [];
      for (let i = 0; i < names.length; i += HEAD_CONCURRENCY) {
        const heads = await Promise.all(
          names.slice(i, i + HEAD_CONCURRENCY).map((name) =>
            head(prefix + name, name).catch((error: unknown) => {
              // Deleted between the listing and its HEAD: it is simply gone from this page.
              if (error instanceof NotFoundError) return undefined;
              throw error;
            }),
          ),
        );
        for (const info of heads) if (info !== undefined) items.push(info);
      }
      const result: Page<ArtifactInfo> = { items };
      const last = names.at(-1);
      const more = keys.length > limit || answer.IsTruncated === true;
      if (more && last !== undefined) result.next_cursor = encodeArtifactCursor(cursors, runId, last);
      return result;
    },

    async delete(runId, name) {
      const Key = artifactKey(runId, name);
      // S3 deletes are idempotent: deleting a missing artifact succeeds, and the memory store agrees.
      const { sdk, client } = await s3();
      await call('delete', name, () => client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key })));
    },

    async copyIn(runId, name, source) {
      const Key = artifactKey(runId, name);
      const from = `${source.bucket}/${copySourceKey(source.key)}`;
      const { sdk, client } = await s3();
      await call('copy', name, () =>
        client.send(
          new sdk.CopyObjectCommand({
            Bucket: bucket,
            Key,
            CopySource: source.version_id
              ? `${from}?versionId=${encodeURIComponent(source.version_id)}`
              : from,
          }),
        ),
      );
      // CopyObject answers no size nor type: the HEAD reads them (and what the run will list).
      return head(Key, name);
    },

    async url(runId, name, expiresInS) {
      const expiresIn = urlExpiry(expiresInS);
      // Presigning needs no request; the HEAD turns a link to nothing into a NotFoundError now.
      const Key = artifactKey(runId, name);
      await head(Key, name);
      const [{ sdk, client }, { getSignedUrl }] = await Promise.all([s3(), loadPresigner()]);
      // A download, as the API serves the file itself: an HTML upload must not render as a page on
      // the bucket's origin either.
      const disposition = `attachment; filename*=UTF-8''${encodeURIComponent(name.split('/').at(-1)!)}`;
      return call('presign', name, () =>
        getSignedUrl(
          client,
          new sdk.GetObjectCommand({ Bucket: bucket, Key, ResponseContentDisposition: disposition }),
          { expiresIn },
        ),
      );
    },
  };
}
