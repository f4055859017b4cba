import { describe, expect, it } from 'vitest';
import { createRouter } from '../../../functions/api/app.js';
import { OPERATIONS } from '../../../functions/api/openapi.js';
import { setUp } from './support.js';

describe('api /openapi.json and /docs', () => {
  it('documents exactly the routes the router has', async () => {
    const t = await setUp();
    const routed = createRouter({ orchestrator: t.deps })
      .routes()
      .map((r) => `${r.method} ${r.pattern}`)
      .sort();
    const documented = Object.entries(OPERATIONS)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(routed);
  });

  it('serves an OpenAPI 3.1 document with the zod schemas and the workflow schema', async () => {
    const t = await setUp({ apiKeys: { keys: [] } });
    const doc = await t.call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const start = doc.body.paths['/v1/executions'].post;
    expect(start.requestBody.content['application/json'].schema.required).toEqual(['workflow_id']);
    expect(Object.keys(start.responses)).toEqual(expect.arrayContaining(['200', '202', '409', '422']));
    expect(doc.body.components.schemas.Workflow.properties.steps).toBeDefined();
    const docs = await t.call('GET', '/docs');
    expect(docs.status).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
    expect(docs.body).toContain('/v1/executions/{id}/resume');
  });
});
