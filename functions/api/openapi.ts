/**
 * The OpenAPI 3.1 document of the API, built from the router: each route's own description
 * (operation.ts) with the zod schemas it checks requests with and answers with, the workflow
 * language's JSON Schema, and what the API's framing answers for every operation alike. Served at
 * `/openapi.json` and rendered at `/docs`.
 */
import { z } from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import { workflowJsonSchema } from '../../shared/definition/json-schema.js';
import type { StepRegistry } from '../../shared/steps/registry.js';
import { WORKFLOW_YAML } from './examples.js';
import { isPublicPath } from './middleware/api-key-auth.js';
import { type OperationDoc, type Reply, TAGS } from './operation.js';
import { pathParamRule } from './path-params.js';
import type { RouteInfo } from './router.js';
import { problem, throttled } from './schemas.js';

type JsonSchema = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';

/** Idempotency-Key: the longest key a start accepts (executions.ts refuses longer ones with 422). */
const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'The same key and body again answer 200 with the run the first request started; the same key with ' +
    'another body is a 409. Kept for 24 hours.',
  schema: { type: 'string', minLength: 1, maxLength: 256 },
  example: 'order-4711-start',
};

/**
 * Turns zod schemas into JSON Schema, collecting the named ones (`meta({ id })`) as components, so
 * each appears once in the document and is referenced everywhere else.
 */
class SchemaCollector {
  readonly components: Record<string, JsonSchema> = {};
  readonly #fixed: Set<string>;

  /** `fixed`: components given as they are (the workflow language), which zod's placeholders do not replace. */
  constructor(fixed: Record<string, JsonSchema>) {
    Object.assign(this.components, fixed);
    this.#fixed = new Set(Object.keys(fixed));
  }

  /** Requests are read as written (`input`: fields with defaults are optional); answers as sent (`output`). */
  schema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const generated = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
    }) as JsonSchema;
    const {
      $schema: _schema,
      $defs,
      ...rest
    } = relink(generated) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    for (const [id, definition] of Object.entries($defs ?? {})) this.#add(id, definition);
    return rest;
  }

  #add(id: string, definition: JsonSchema): void {
    if (this.#fixed.has(id)) return;
    const known = this.components[id];
    if (known !== undefined && JSON.stringify(known) !== JSON.stringify(definition)) {
      throw new Error(`Two different schemas are named '${id}' (one read as input, one as output?)`);
    }
    this.components[id] = definition;
  }
}

/** zod points at its own `$defs`; in the document they are components. */
function relink(schema: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', `"${COMPONENTS}`)) as JsonSchema;
}

const ref = (id: string) => ({ $ref: `${COMPONENTS}${id}` });

/**
 * What the framing of the API answers for an operation, whatever its route does: the body parser,
 * the API key, the local server's Host and Origin checks, the path parameters' rules, the query
 * check, API Gateway's throttle, a busy store, and the unexpected.
 */
function framingRefusals(path: string, doc: OperationDoc): Record<number, string> {
  const refusals: Record<number, string> = {};
  if (doc.body) {
    refusals[400] = 'The body is malformed, nested too deep, or holds a number out of range';
    refusals[413] = 'The body is over the limit (1 MB by default)';
    refusals[415] =
      doc.body.schema === 'workflow'
        ? 'The body is neither application/json nor text/yaml, or not UTF-8'
        : 'The body is not application/json, or not UTF-8';
  }
  if (!isPublicPath(path)) refusals[401] = 'No API key, or one that is not valid';
  refusals[403] = 'The local server refuses a Host or an Origin that is not its own (or one CORS allows)';
  if (path.includes('{')) refusals[404] = 'A path parameter breaks its rule, so nothing can be there';
  refusals[422] = doc.query
    ? 'A query parameter this operation does not take, or one out of its range'
    : 'A query parameter: this operation takes none';
  refusals[429] = "API Gateway's throttle (in the cloud)";
  refusals[500] = 'An unexpected error: the detail is logged, not shown';
  if (path.startsWith('/v1/')) refusals[503] = 'A store is busy: try again (Retry-After)';
  return refusals;
}

function parameters(path: string, doc: OperationDoc, schemas: SchemaCollector): unknown[] {
  const inPath = [...path.matchAll(/([^/]*)\/\{(\w+)\}/g)].map((m) => {
    const rule = pathParamRule(m[1]);
    return {
      name: m[2],
      in: 'path',
      required: true,
      description: rule.rule,
      schema: { type: 'string', minLength: 1, maxLength: rule.maxLength, pattern: rule.pattern.source },
    };
  });
  const inQuery = Object.entries(doc.query?.shape ?? {}).map(([name, field]) => {
    const { description, ...schema } = schemas.schema(field as z.ZodType, 'output');
    return {
      name,
      in: 'query',
      required: !(field as z.ZodType).safeParse(undefined).success,
      ...(typeof description === 'string' ? { description } : {}),
      schema,
    };
  });
  return [...inPath, ...inQuery, ...(doc.idempotencyKey ? [IDEMPOTENCY_KEY] : [])];
}

function requestBody(doc: OperationDoc, schemas: SchemaCollector): unknown {
  const body = doc.body;
  if (body === undefined) return undefined;
  if (body.schema === 'workflow') {
    return {
      required: true,
      description: 'The workflow, as JSON or as YAML',
      content: {
        'application/json': { schema: ref('Workflow'), example: body.example },
        'text/yaml': {
          schema: { type: 'string', description: 'The workflow as YAML (same structure as the JSON)' },
          example: WORKFLOW_YAML,
        },
      },
    };
  }
  const schema = schemas.schema(body.schema, 'input');
  return {
    // An absent body is read as `{}`: required only when `{}` would not do.
    required: !body.schema.safeParse({}).success,
    ...(body.description ? { description: body.description } : {}),
    content: { 'application/json': { schema, example: body.example } },
  };
}

function reply(status: number, answer: Reply, schemas: SchemaCollector): unknown {
  const content: Record<string, unknown> = {};
  if (answer.schema) {
    content[answer.mediaType ?? 'application/json'] = {
      schema: schemas.schema(answer.schema, 'output'),
      ...(answer.example === undefined ? {} : { example: answer.example }),
    };
  } else if (answer.mediaType) {
    content[answer.mediaType] = { schema: {} };
  }
  for (const [mediaType, example] of Object.entries(answer.alternatives ?? {})) {
    content[mediaType] = { schema: { type: 'string' }, example };
  }
  return {
    description: answer.description,
    ...(status === 201 || status === 307
      ? {
          headers: {
            Location: {
              description: status === 201 ? 'Where the new resource is' : 'Where to read it',
              schema: { type: 'string' },
            },
          },
        }
      : {}),
    ...(Object.keys(content).length > 0 ? { content } : {}),
  };
}

/** Any 200 of the deployed API (functions/api/large-answers.ts); the local server sends every answer itself. */
const LARGE_ANSWER = {
  description:
    "In the cloud, an answer over a Lambda's 6 MB: `Location` is a presigned URL that serves it for 5 minutes " +
    '(HTTP clients follow it; `curl -L`)',
  headers: { Location: { description: 'Where to read the answer', schema: { type: 'string' } } },
};

function refusal(status: number, description: string): unknown {
  if (status === 429) {
    return { description, content: { 'application/json': { schema: ref('Throttled') } } };
  }
  return { description, content: { 'application/problem+json': { schema: ref('Problem') } } };
}

function operation(route: RouteInfo & { doc: OperationDoc }, schemas: SchemaCollector): unknown {
  const { pattern: path, doc } = route;
  const framing = framingRefusals(path, doc);
  const responses: Record<string, unknown> = {};
  for (const [status, answer] of Object.entries(doc.replies)) {
    responses[status] = reply(Number(status), answer, schemas);
  }
  if (doc.replies[200] !== undefined) responses['303'] = LARGE_ANSWER;
  // The route's words first; the framing's reasons for the same status after them.
  const statuses = new Set([...Object.keys(doc.refusals ?? {}), ...Object.keys(framing)].map(Number));
  for (const status of [...statuses].sort((a, b) => a - b)) {
    const own = (doc.refusals as Record<number, string> | undefined)?.[status];
    const common = framing[status];
    responses[String(status)] = refusal(status, own && common ? `${own}; or: ${common}` : (own ?? common)!);
  }
  const params = parameters(path, doc, schemas);
  const body = requestBody(doc, schemas);
  return {
    operationId: doc.operationId,
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    ...(isPublicPath(path) ? { security: [] } : {}),
    responses: Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b))),
  };
}

/** Routes the document cannot describe: they have no doc (the OpenAPI test names them). */
export function undocumentedRoutes(routes: RouteInfo[]): string[] {
  return routes.filter((r) => r.doc === undefined).map((r) => `${r.method} ${r.pattern}`);
}

export function openApiDocument(routes: RouteInfo[], registry: StepRegistry): Record<string, unknown> {
  const { $schema: _s, $id: _i, ...workflow } = workflowJsonSchema(registry);
  const schemas = new SchemaCollector({ Workflow: workflow });
  // Named first, so they are components even when no operation happens to need them.
  schemas.schema(problem, 'output');
  schemas.schema(throttled, 'output');
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    if (route.doc === undefined) continue;
    paths[route.pattern] ??= {};
    paths[route.pattern]![route.method.toLowerCase()] = operation({ ...route, doc: route.doc }, schemas);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Flowrunner API',
      version: packageJson.version,
      description:
        'Durable workflows of people, AI and APIs. Register a workflow (YAML or JSON), start runs, follow ' +
        'their events, answer their forms and approvals, and hold, release or cancel them. Errors are ' +
        '`application/problem+json` (RFC 9457) with `errors[].path` for the parts of the request at fault. ' +
        'Authenticate with `Authorization: Bearer <api key>` or `x-api-key`; the local server on 127.0.0.1 ' +
        'may run without keys.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [
      { url: 'http://127.0.0.1:3000', description: '`npm start` on this machine' },
      {
        url: 'https://{api_id}.execute-api.{region}.amazonaws.com',
        description: 'The HTTP API `npm run deploy` created',
        variables: {
          api_id: { default: 'abcdef1234', description: 'The id of the HTTP API (the stack output)' },
          region: { default: 'eu-west-1', description: 'The AWS Region of the stack' },
        },
      },
    ],
    security: [{ bearer: [] }, { apiKey: [] }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key' },
      },
      schemas: Object.fromEntries(Object.entries(schemas.components).sort(([a], [b]) => a.localeCompare(b))),
    },
  };
}
