/** `/v1/executions/{id}/artifacts`: the files of a run, listed and read. */
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { ARTIFACT } from '../examples.js';
import type { OperationDoc } from '../operation.js';
import { queryParams } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { artifactInfo, page } from '../schemas.js';

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

const TEXT_TYPES = /^(text\/|application\/(json|yaml|xml|[\w.+-]*\+json))/i;

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
    replies: { 200: { description: 'The file, with the content type it was stored with', mediaType: '*/*' } },
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
    async (request) => {
      const id = request.params.id!;
      await runs.get(id);
      const { info, body } = await artifacts.get(id, request.params.name!);
      const text = TEXT_TYPES.test(info.content_type);
      return {
        statusCode: 200,
        headers: {
          'content-type': info.content_type,
          'content-length': String(info.size),
          ...ARTIFACT_HEADERS,
          'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(request.params.name!)}`,
        },
        body: Buffer.from(body).toString(text ? 'utf8' : 'base64'),
        isBase64Encoded: !text,
      };
    },
    docs.read,
  );
}
