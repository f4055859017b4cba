/** `/v1/executions/{id}/artifacts`: the files of a run, listed and read. */
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { ARTIFACT } from '../examples.js';
import type { OperationDoc } from '../operation.js';
import { queryParams } from '../params.js';
import { type ApiResult, json } from '../response.js';
import type { Router } from '../router.js';
import { artifactInfo, page } from '../schemas.js';

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

/**
 * The largest file served in the answer itself: a Lambda answer is at most 6 MB, and this file in
 * base64 is 5.6 MB. A larger one is a redirect to a presigned URL of the bucket, which serves any
 * size, in the cloud and on the local S3 alike, and the API never holds it in memory.
 */
export const MAX_INLINE_ARTIFACT_BYTES = 4 * 1024 * 1024;

/** How long the presigned URL of a larger file's redirect is valid: time enough to follow it. */
const LARGE_ARTIFACT_URL_EXPIRY_S = 300;

const docs = {
  list: {
    operationId: 'listArtifacts',
    tag: 'Artifacts',
    summary: 'List the files of a run',
    query: listQuery,
    replies: {
      200: {
        description: 'A page of files',
        schema: page(artifactInfo, 'ArtifactPage'),
        example: { items: [ARTIFACT], next_cursor: null },
      },
    },
    refusals: { 404: 'No such run' },
  },
  read: {
    operationId: 'readArtifact',
    tag: 'Artifacts',
    summary: 'Read a file of a run',
    description:
      'A file of up to 4 MiB is the answer itself; a larger one is a 307 redirect to a presigned URL of ' +
      'the bucket, valid for 5 minutes (HTTP clients follow it; `curl -L`).',
    replies: {
      200: { description: 'The file, with the content type it was stored with', mediaType: '*/*' },
      307: { description: 'A larger file: `Location` is a presigned URL that serves it' },
    },
    refusals: { 404: 'No such run or file' },
  },
} satisfies Record<string, OperationDoc>;

/**
 * An artifact is whatever its uploader made it, content type included, served from the API's origin
 * (locally also the console's, whose tab keeps the API key): a `text/html` or SVG upload with a
 * script was a stored XSS there. So it is never rendered as a page: downloaded (`attachment`), not
 * sniffed, and sandboxed should a browser show it anyway.
 */
const ARTIFACT_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; sandbox",
  'cache-control': 'private, no-store',
} as const;

export function artifactRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const { runs, artifacts } = o.stores;

  router.on(
    'GET',
    '/v1/executions/{id}/artifacts',
    async (request) => {
      const id = request.params.id!;
      const query = queryParams(request, listQuery);
      await runs.get(id);
      const found = await artifacts.list(id, query);
      return json(200, { items: found.items, next_cursor: found.next_cursor ?? null });
    },
    docs.list,
  );

  router.on(
    'GET',
    '/v1/executions/{id}/artifacts/{name}',
    async (request): Promise<ApiResult> => {
      const id = request.params.id!;
      const name = request.params.name!;
      await runs.get(id);
      const { info, body } = await artifacts.getWithin(id, name, MAX_INLINE_ARTIFACT_BYTES);
      if (body === undefined) {
        return {
          statusCode: 307,
          headers: {
            location: await artifacts.url(id, name, LARGE_ARTIFACT_URL_EXPIRY_S),
            'cache-control': 'private, no-store',
          },
          body: '',
        };
      }
      return {
        statusCode: 200,
        headers: {
          'content-type': info.content_type,
          'content-length': String(info.size),
          ...ARTIFACT_HEADERS,
          'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
        },
        // Base64 whatever the type: its size is known (4/3 of the file's), where a text's JSON
        // escapes could make it six times as long.
        body: Buffer.from(body).toString('base64'),
        isBase64Encoded: true,
      };
    },
    docs.read,
  );
}
