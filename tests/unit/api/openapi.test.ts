import { describe, expect, it } from 'vitest';
import { createRouter } from '../../../functions/api/app.js';
import { DOCS_CSP } from '../../../functions/api/docs-page.js';
import { undocumentedRoutes } from '../../../functions/api/openapi.js';
import { setUp } from './support.js';

describe('api /openapi.json', () => {
  it('documents every route the router has (docs/operations.md: adding an operation)', async () => {
    const t = await setUp();
    const routes = createRouter({ orchestrator: t.deps }).routes();
    expect(undocumentedRoutes(routes)).toEqual([]);
    const doc = (await t.call('GET', '/openapi.json')).body;
    const documented = Object.entries(doc.paths as Record<string, object>)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(routes.map((r) => `${r.method} ${r.pattern}`).sort());
  });

  it('serves an OpenAPI 3.1 document with the zod schemas and the workflow schema, without a key', async () => {
    const t = await setUp({ apiKeys: { keys: [] } });
    const doc = await t.call('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    const start = doc.body.paths['/v1/executions'].post;
    expect(start.operationId).toBe('startRun');
    expect(start.requestBody.content['application/json'].schema.required).toEqual(['workflow_id']);
    expect(start.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
    );
    expect(start.responses['202'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Run',
    });
    expect(Object.keys(start.responses)).toEqual(
      expect.arrayContaining([
        '200',
        '202',
        '400',
        '401',
        '403',
        '409',
        '413',
        '415',
        '422',
        '429',
        '500',
        '503',
      ]),
    );
    expect(doc.body.components.schemas.Workflow.properties.steps).toBeDefined();
    expect(doc.body.components.schemas.Run.properties.status.enum).toContain('paused');
  });

  it('marks exactly the public paths with security: [] and lists 401 everywhere else', async () => {
    const t = await setUp();
    const doc = (await t.call('GET', '/openapi.json')).body;
    const open: string[] = [];
    for (const [path, methods] of Object.entries(
      doc.paths as Record<
        string,
        Record<string, { security?: unknown[]; responses: Record<string, unknown> }>
      >,
    )) {
      for (const op of Object.values(methods)) {
        if (Array.isArray(op.security) && op.security.length === 0) open.push(path);
        else expect(op.responses['401'], path).toBeDefined();
      }
    }
    expect([...new Set(open)].sort()).toEqual(
      [
        '/docs',
        '/docs/redoc.standalone.js',
        '/healthz',
        '/openapi.json',
        '/v1/callbacks/{token}',
        // The signature is the credential (a hook without one asks for the key itself: 401 listed).
        '/v1/hooks/{listener_id}',
      ].sort(),
    );
  });

  it('describes the live event stream beside the page of events', async () => {
    const t = await setUp();
    const doc = (await t.call('GET', '/openapi.json')).body;
    const content = doc.paths['/v1/executions/{id}/events'].get.responses['200'].content;
    expect(Object.keys(content).sort()).toEqual(['application/json', 'text/event-stream']);
  });

  it('refuses an unknown query parameter on every operation, before the route runs', async () => {
    const t = await setUp();
    for (const path of ['/healthz', '/v1/workflows', '/v1/executions', '/v1/executions/nope']) {
      const answer = await t.call('GET', path, { query: { stauts: 'failed' } });
      expect(answer.status, path).toBe(422);
      expect(answer.body.errors[0]).toEqual({
        path: 'stauts',
        message: expect.stringContaining('unknown query'),
      });
    }
  });
});

describe('api /docs', () => {
  it('is an HTML page whose only script is served by the API itself, under a CSP that allows just that', async () => {
    const t = await setUp({ apiKeys: { keys: [] } });
    const page = await t.call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toBe(DOCS_CSP);
    expect(DOCS_CSP).toContain("script-src 'self'");
    const scripts = [...String(page.body).matchAll(/<script\b([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toEqual([' src="docs/redoc.standalone.js"']);
    expect(String(page.body)).not.toMatch(/https?:\/\//);
    const script = await t.call('GET', '/docs/redoc.standalone.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(Buffer.from(script.body, 'base64').toString('utf8')).toContain('Redoc');
  });

  it('gzips the script for a client that accepts it', async () => {
    const t = await setUp();
    const { gunzipSync } = await import('node:zlib');
    const plain = await t.call('GET', '/docs/redoc.standalone.js');
    const zipped = await t.call('GET', '/docs/redoc.standalone.js', {
      headers: { 'accept-encoding': 'gzip, br' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    const zippedBytes = Buffer.from(zipped.body, 'base64');
    expect(zippedBytes.length).toBeLessThan(Buffer.from(plain.body, 'base64').length / 2);
    expect(gunzipSync(zippedBytes).equals(Buffer.from(plain.body, 'base64'))).toBe(true);
  });
});
