/** `/v1/executions/{id}/artifacts`: the files of a run, listed and read. */
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { queryParams } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

const TEXT_TYPES = /^(text\/|application\/(json|yaml|xml|[\w.+-]*\+json))/i;

export function artifactRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;
  const { runs, artifacts } = o.stores;

  router.on('GET', '/v1/executions/{id}/artifacts', async (request) => {
    const id = request.params.id!;
    const query = queryParams(request, listQuery);
    await runs.get(id);
    const page = await artifacts.list(id, query);
    return json(200, { items: page.items, next_cursor: page.next_cursor ?? null });
  });

  router.on('GET', '/v1/executions/{id}/artifacts/{name}', async (request) => {
    const id = request.params.id!;
    await runs.get(id);
    const { info, body } = await artifacts.get(id, request.params.name!);
    const text = TEXT_TYPES.test(info.content_type);
    return {
      statusCode: 200,
      headers: { 'content-type': info.content_type, 'content-length': String(info.size) },
      body: Buffer.from(body).toString(text ? 'utf8' : 'base64'),
      isBase64Encoded: !text,
    };
  });
}
