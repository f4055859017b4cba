/**
 * The OpenAPI 3.1 document of the API, built from the same zod schemas the routes check bodies
 * and queries with, and the workflow language's JSON Schema. Served at `/openapi.json`.
 */
import { z } from 'zod';
import { workflowJsonSchema } from '../../shared/definition/json-schema.js';
import type { StepRegistry } from '../../shared/steps/registry.js';
import { isPublicPath } from './middleware/api-key-auth.js';
import { pathParamRule } from './path-params.js';
import { inferBody } from './routes/ai.js';
import { listQuery as artifactListQuery } from './routes/artifacts.js';
import { putEventsBody } from './routes/events.js';
import {
  controlBody,
  eventsQuery,
  listQuery as executionListQuery,
  resumeBody,
  startBody,
} from './routes/executions.js';
import {
  createBody as listenerBody,
  changeBody as listenerChangeBody,
  listQuery as listenerListQuery,
} from './routes/listeners.js';
import { versionQuery, versionsQuery, listQuery as workflowListQuery } from './routes/workflows.js';

interface Operation {
  summary: string;
  /** `raw`: any media type, read as bytes (webhooks, whose signature covers them). */
  body?: z.ZodType | 'workflow' | 'any' | 'raw';
  query?: z.ZodObject;
  /** Status → description. */
  responses: Record<number, string>;
}

const problem = { $ref: '#/components/schemas/Problem' };

/** Path → method → operation; the test checks that it lists exactly the routes the router has. */
export const OPERATIONS: Record<string, Record<string, Operation>> = {
  '/healthz': { get: { summary: 'Liveness', responses: { 200: 'Alive' } } },
  '/openapi.json': { get: { summary: 'This document', responses: { 200: 'OpenAPI 3.1' } } },
  '/docs': { get: { summary: 'A readable page of this document', responses: { 200: 'HTML' } } },
  '/v1/workflows': {
    post: {
      summary: 'Create a workflow (JSON or text/yaml): version 1',
      body: 'workflow',
      responses: { 201: 'Created', 400: 'Malformed', 409: 'Exists', 422: 'Invalid' },
    },
    get: { summary: 'List workflows', query: workflowListQuery, responses: { 200: '{items, next_cursor}' } },
  },
  '/v1/workflows/validate': {
    post: {
      summary: 'Check a workflow without saving',
      body: 'workflow',
      responses: { 200: '{valid, errors}', 400: 'Malformed' },
    },
  },
  '/v1/workflows/{id}': {
    get: {
      summary: 'Read the latest or one version',
      query: versionQuery,
      responses: { 200: 'The version', 404: 'Unknown' },
    },
    put: {
      summary: 'Add a version; content equal to the latest version adds none (200, same version)',
      body: 'workflow',
      responses: { 200: '{id, version}', 404: 'Unknown', 422: 'Invalid or id mismatch' },
    },
    delete: { summary: 'Retire: no new runs', responses: { 204: 'Retired', 404: 'Unknown' } },
  },
  '/v1/workflows/{id}/versions': {
    get: {
      summary: 'Every version, newest first: {items: [{version, created_at, content_hash}], next_cursor}',
      query: versionsQuery,
      responses: { 200: '{items, next_cursor}', 404: 'Unknown', 422: 'Bad query' },
    },
  },
  '/v1/workflows/{id}/validate': {
    post: {
      summary: 'Check a new version without saving',
      body: 'workflow',
      responses: { 200: '{valid, errors}', 400: 'Malformed', 404: 'Unknown workflow' },
    },
  },
  '/v1/executions': {
    post: {
      summary: 'Start a run (header Idempotency-Key)',
      body: startBody,
      responses: {
        200: 'The same request again',
        202: 'Started',
        404: 'Unknown workflow',
        409: 'Retired or key reused',
        422: 'Invalid inputs',
      },
    },
    get: { summary: 'List runs', query: executionListQuery, responses: { 200: '{items, next_cursor}' } },
  },
  '/v1/executions/{id}': { get: { summary: 'The run', responses: { 200: 'The run', 404: 'Unknown' } } },
  '/v1/executions/{id}/resume': {
    post: {
      summary: 'Answer a wait: {step_id?, inputs} or {step_id?, decision, approver, comment?}',
      body: resumeBody,
      responses: {
        202: 'Accepted',
        403: 'Not an approver',
        404: 'Unknown',
        409: 'Not waiting there',
        422: 'Invalid answer',
      },
    },
  },
  '/v1/executions/{id}/cancel': {
    post: {
      summary: 'Cancel (compensation runs)',
      body: controlBody,
      responses: { 202: 'Accepted', 404: 'Unknown', 409: 'Already final' },
    },
  },
  '/v1/executions/{id}/pause': {
    post: {
      summary: 'Hold',
      body: controlBody,
      responses: { 202: 'Accepted', 404: 'Unknown', 409: 'Not running or waiting' },
    },
  },
  '/v1/executions/{id}/unpause': {
    post: {
      summary: 'Release',
      body: controlBody,
      responses: { 202: 'Accepted', 404: 'Unknown', 409: 'Not paused' },
    },
  },
  '/v1/executions/{id}/history': {
    get: { summary: 'Step executions', responses: { 200: 'History', 404: 'Unknown' } },
  },
  '/v1/executions/{id}/context': {
    get: { summary: 'The run context now', responses: { 200: 'Context', 404: 'Unknown' } },
  },
  '/v1/executions/{id}/events': {
    get: {
      summary: 'Events after a seq or cursor',
      query: eventsQuery,
      responses: { 200: '{events, next_cursor}', 404: 'Unknown' },
    },
  },
  '/v1/executions/{id}/artifacts': {
    get: {
      summary: 'List the files of a run',
      query: artifactListQuery,
      responses: { 200: '{items, next_cursor}', 404: 'Unknown' },
    },
  },
  '/v1/executions/{id}/artifacts/{name}': {
    get: { summary: 'Read a file of a run', responses: { 200: 'The file', 404: 'Unknown' } },
  },
  '/v1/callbacks/{token}': {
    post: {
      summary: 'Resume the wait of a single-use token',
      body: 'any',
      responses: {
        202: 'Accepted',
        404: 'Unknown, used or expired',
        409: 'Wait ended',
        422: 'Invalid answer',
      },
    },
  },
  '/v1/ai/infer': {
    post: {
      summary: 'One AI call',
      body: inferBody,
      responses: {
        200: '{output, model, tokens...}',
        422: 'Invalid request',
        502: 'Bad answer',
        503: 'Model unavailable',
      },
    },
  },
  '/v1/listeners': {
    get: {
      summary: 'List listeners',
      query: listenerListQuery,
      responses: { 200: '{items, next_cursor}', 422: 'Bad query' },
    },
    post: {
      summary:
        'Create a listener {type, workflow_id, version?, match, inputs?, enabled?}: match per type (CONTRACT §6)',
      body: listenerBody,
      responses: {
        201: 'Created',
        404: 'Unknown workflow',
        409: 'Exists, or the workflow is retired',
        422: 'Invalid match, inputs template or version (errors[].path)',
      },
    },
  },
  '/v1/listeners/{id}': {
    get: {
      summary: 'Read a listener: enabled, last_fired_at, fired, skipped, failed, next_fire_at',
      responses: { 200: 'The listener', 404: 'Unknown' },
    },
    patch: {
      summary: 'Change enabled, match or inputs (null removes the template)',
      body: listenerChangeBody,
      responses: { 200: 'The listener', 404: 'Unknown', 422: 'Invalid' },
    },
    delete: { summary: 'Delete a listener', responses: { 204: 'Deleted', 404: 'Unknown' } },
  },
  '/v1/hooks/{listener_id}': {
    post: {
      summary:
        'A webhook listener starts its workflow; the signature (github, stripe, standard, hmac-sha256) is checked on the raw body',
      body: 'raw',
      responses: {
        200: 'This delivery started a run before: that run',
        202: 'Started',
        401: 'Bad or missing signature (or API key, for a listener without one): nothing stored',
        404: 'Unknown',
        409: 'Disabled',
        422: 'The inputs do not fit the workflow (recorded on the listener)',
        503: 'The listener’s secret is not set',
      },
    },
  },
  '/v1/events': {
    post: {
      summary: 'Put up to 10 events on the event bus: every matching eventbridge listener fires',
      body: putEventsBody,
      responses: { 200: '{entries: [{event_id}]}', 422: 'Invalid entries', 503: 'No event bus' },
    },
  },
};

const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;

export function openApiDocument(registry: StepRegistry): Record<string, unknown> {
  const { $schema: _s, $id: _i, ...workflow } = workflowJsonSchema(registry);
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, methods] of Object.entries(OPERATIONS)) {
    const item: Record<string, unknown> = {};
    for (const [method, op] of Object.entries(methods)) {
      const parameters = [
        ...[...path.matchAll(/([^/]*)\/\{(\w+)\}/g)].map((m) => {
          const rule = pathParamRule(m[1]);
          return {
            name: m[2],
            in: 'path',
            required: true,
            description: rule.rule,
            schema: { type: 'string', minLength: 1, maxLength: rule.maxLength, pattern: rule.pattern.source },
          };
        }),
        ...Object.entries(op.query?.shape ?? {}).map(([name, schema]) => ({
          name,
          in: 'query',
          required: false,
          schema: jsonSchema(schema as z.ZodType),
        })),
      ];
      const body =
        op.body === undefined
          ? undefined
          : op.body === 'workflow'
            ? {
                required: true,
                content: {
                  'application/json': { schema: { $ref: '#/components/schemas/Workflow' } },
                  'text/yaml': { schema: { $ref: '#/components/schemas/Workflow' } },
                },
              }
            : op.body === 'raw'
              ? { content: { '*/*': { schema: {} } } }
              : { content: { 'application/json': { schema: op.body === 'any' ? {} : jsonSchema(op.body) } } };
      // Every body goes through the same parser: its refusals apply to every operation that takes one.
      const framing: Record<number, string> = body
        ? {
            400: 'Malformed, nested too deep, or a number out of range',
            413: 'Body over the limit',
          }
        : {};
      // A raw body is taken in any media type.
      if (body && op.body !== 'raw')
        framing[415] = op.body === 'workflow' ? 'Not application/json or text/yaml' : 'Not application/json';
      const responses: Record<string, unknown> = {};
      for (const [status, description] of Object.entries({ ...framing, ...op.responses })) {
        responses[status] =
          Number(status) >= 400
            ? { description, content: { 'application/problem+json': { schema: problem } } }
            : { description };
      }
      item[method] = {
        summary: op.summary,
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(body ? { requestBody: body } : {}),
        ...(isPublicPath(path) ? { security: [] } : {}),
        responses,
      };
    }
    paths[path] = item;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Flowrunner API', version: '1' },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
      schemas: {
        Workflow: workflow,
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            errors: {
              type: 'array',
              items: {
                type: 'object',
                required: ['path', 'message'],
                properties: {
                  path: { type: 'string' },
                  message: { type: 'string' },
                  line: { type: 'integer' },
                  column: { type: 'integer' },
                },
              },
            },
          },
        },
      },
    },
  };
}

const escapeHtml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** A plain page of the routes (no scripts, no CDN): method, path, summary and answers. */
export function docsPage(): string {
  const rows = Object.entries(OPERATIONS).flatMap(([path, methods]) =>
    Object.entries(methods).map(
      ([method, op]) =>
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary)}</td><td>${Object.entries(
          op.responses,
        )
          .map(([s, d]) => `${s} ${escapeHtml(d)}`)
          .join('<br>')}</td></tr>`,
    ),
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Flowrunner API</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}</style>
</head><body><h1>Flowrunner API</h1><p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>. Errors are <code>application/problem+json</code>.</p>
<table><thead><tr><th>Method</th><th>Path</th><th>Does</th><th>Answers</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>`;
}
