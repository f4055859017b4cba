/**
 * The API answers as its OpenAPI document says. Every operation of the document served by a real
 * local server is called with its documented example and with requests fast-check generates from
 * the operation's own schemas (which the API generates from its zod schemas): valid ones, and ones
 * each layer must refuse — a body that breaks the schema, malformed or oversized or mistyped bodies,
 * unknown or out-of-range query parameters, path parameters that break their rule, no or a wrong API
 * key, a foreign Origin. Every answer's status must be documented for the operation, never 5xx, and
 * its body must be valid (Ajv, JSON Schema 2020-12) against the documented schema of that status.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOW, WORKFLOW_YAML } from '../../functions/api/examples.js';
import { addJsonSchemaFormats } from '../../shared/json-schema/formats.js';
import { apiClient } from '../support/api-client.js';
import { arbitraryFor, invalidObjectFor, type JsonSchema } from '../support/json-schema-arbitrary.js';
import { startServerInProcess, useServer } from '../support/server-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// Hundreds of request lines say nothing here; the answers are checked one by one.
process.env.LOG_LEVEL = 'WARN';

const KEY = 'conformance-key';
/** Generated requests per operation: enough to reach each layer's refusals, few enough for a busy machine. */
const RUNS_PER_OPERATION = 20;
const MAX_BODY_BYTES = 1_048_576;

const server = useServer(() =>
  startServerInProcess({ FLOWRUNNER_API_KEYS: KEY }, { examplesDir: undefined }),
);
const api = apiClient(
  () => server.url,
  () => ({ authorization: `Bearer ${KEY}` }),
);

interface Sent {
  method: string;
  path: string;
  query?: Record<string, string>;
  /** `authorization: undefined` sends no key. */
  headers?: Record<string, string | undefined>;
  body?: string | Buffer;
}

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request over node:http, so that every header (Host, Origin, content-type) is as given. */
function send(sent: Sent): Promise<Got> {
  const url = new URL(server.url);
  const search = new URLSearchParams(sent.query ?? {}).toString();
  const headers: Record<string, string> = { authorization: `Bearer ${KEY}` };
  for (const [name, value] of Object.entries(sent.headers ?? {})) {
    if (value === undefined) delete headers[name];
    else headers[name] = value;
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: sent.method,
        path: `${sent.path}${search ? `?${search}` : ''}`,
        headers,
      },
      (res) => {
        // A live event stream does not end while its run waits: its head is the answer.
        if (String(res.headers['content-type']).startsWith('text/event-stream')) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.alloc(0) });
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(sent.body);
  });
}

interface MediaType {
  schema?: JsonSchema;
  example?: unknown;
}
interface Operation {
  operationId: string;
  parameters?: Array<{ name: string; in: string; required: boolean; schema: JsonSchema }>;
  requestBody?: { required?: boolean; content: Record<string, MediaType> };
  responses: Record<string, { content?: Record<string, MediaType> }>;
  security?: unknown[];
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}

let document: Document;
let ajv: Ajv2020;
const validators = new Map<string, ValidateFunction>();
/** Per operation, every status seen. */
const seen = new Map<string, Set<number>>();

const pointer = (...parts: string[]) =>
  parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

function validatorFor(path: string, method: string, status: string, mediaType: string): ValidateFunction {
  const ref = `openapi.json#/${pointer('paths', path, method, 'responses', status, 'content', mediaType, 'schema')}`;
  const known = validators.get(ref);
  if (known) return known;
  const validate = ajv.compile({ $ref: ref });
  validators.set(ref, validate);
  return validate;
}

/** The answer is documented for the operation, is no 5xx, and its body fits the documented schema. */
function checkAnswer(label: string, path: string, method: string, got: Got): void {
  const text = got.body.toString('utf8').slice(0, 500);
  expect(got.status, `${label} answered ${got.status}: ${text}`).toBeLessThan(500);
  const operation = document.paths[path]![method]!;
  seen.set(operation.operationId, (seen.get(operation.operationId) ?? new Set()).add(got.status));
  const documented = operation.responses[String(got.status)];
  expect(
    documented,
    `${label} answered ${got.status}, which its operation does not list: ${text}`,
  ).toBeDefined();
  const type = String(got.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim();
  const content = documented!.content;
  if (content === undefined) {
    expect(got.body.length, `${label}: ${got.status} is documented without a body`).toBe(0);
    return;
  }
  const mediaType = content[type] ? type : content['*/*'] ? '*/*' : undefined;
  expect(
    mediaType,
    `${label}: ${got.status} came as '${type}'; documented: ${Object.keys(content)}`,
  ).toBeDefined();
  const schema = content[mediaType!]!.schema;
  if (!/json$/.test(type) || schema === undefined || Object.keys(schema).length === 0) return;
  const body = JSON.parse(got.body.toString('utf8')) as unknown;
  const validate = validatorFor(path, method, String(got.status), mediaType!);
  expect(
    validate(body),
    `${label}: the ${got.status} body fails its schema: ${JSON.stringify(validate.errors)} in ${text}`,
  ).toBe(true);
}

// The world the operations act on: a workflow, runs waiting at its form, an artifact, a webhook listener.
const WORKFLOW_ID = WORKFLOW.id;
const LISTENER_ID = 'conformance-hook';
const TEMPLATE_ID = 'conformance-template';

async function waitingRun(): Promise<{ id: string; token: string }> {
  const started = await api.call('POST', '/v1/executions', {
    workflow_id: WORKFLOW_ID,
    inputs: { customer: 'Ada' },
  });
  expect(started.status).toBe(202);
  const run = await api.until(String(started.body.id), (r) => r.status === 'waiting' && r.waiting.length > 0);
  return { id: String(run.id), token: String(run.waiting[0]!.callback_token) };
}

async function pausedRun(): Promise<string> {
  const { id } = await waitingRun();
  expect((await api.call('POST', `/v1/executions/${id}/pause`, {})).status).toBe(202);
  await api.until(id, (r) => r.status === 'paused');
  return id;
}

/** A workflow whose run fails at once: what redrive acts on (a redriven run fails again, so each can be redriven). */
const FAILING_ID = 'conformance-fails';

async function failedRun(): Promise<string> {
  const started = await api.call('POST', '/v1/executions', { workflow_id: FAILING_ID });
  expect(started.status).toBe(202);
  return String((await api.until(String(started.body.id), (r) => r.status === 'failed')).id);
}

let listeners = 0;

async function freshListener(): Promise<string> {
  const id = `conformance-changed-${++listeners}`;
  // On the failing workflow: the shared one is retired by the time some operations run.
  const created = await api.call('POST', '/v1/listeners', { id, type: 'webhook', workflow_id: FAILING_ID });
  expect(created.status).toBe(201);
  return id;
}

let sharedRun: string;

/** Path values for an operation's valid requests; fresh runs where the operation uses one up. */
async function pathValues(operationId: string): Promise<Record<string, string>> {
  switch (operationId) {
    case 'resumeRun':
    case 'cancelRun':
    case 'pauseRun':
      return { id: (await waitingRun()).id };
    case 'unpauseRun':
      return { id: await pausedRun() };
    case 'redriveRun':
      return { id: await failedRun() };
    case 'changeListener':
    case 'deleteListener':
      // Its own listener: disabling or deleting the shared one would stop the webhook's example.
      return { listener: await freshListener() };
    case 'answerCallback':
    case 'getCallbackTask':
      return { token: (await waitingRun()).token };
    default:
      return { id: sharedRun, name: 'report.txt', listener_id: LISTENER_ID };
  }
}

function concretePath(path: string, values: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value =
      path.startsWith('/v1/workflows') && name === 'id'
        ? WORKFLOW_ID
        : path.startsWith('/v1/listeners')
          ? (values.listener ?? LISTENER_ID)
          : path.startsWith('/v1/templates')
            ? TEMPLATE_ID
            : values[name];
    return encodeURIComponent(value ?? 'missing');
  });
}

/** A workflow body: the example (its id as the operation needs), as JSON or YAML. */
function workflowBodies(path: string): fc.Arbitrary<{ type: string; body: string }> {
  const ids =
    path === '/v1/workflows' ? fc.stringMatching(/^[a-z][a-z0-9_-]{0,30}$/) : fc.constant(WORKFLOW_ID);
  return fc.tuple(ids, fc.boolean(), fc.constantFrom('Greet', 'Greet again')).map(([id, yaml, name]) =>
    yaml
      ? {
          type: 'text/yaml',
          body: WORKFLOW_YAML.replace('id: greeting', `id: ${id}`).replace('Greet a customer', name),
        }
      : { type: 'application/json', body: JSON.stringify({ ...WORKFLOW, id, name }) },
  );
}

/** Broken workflows: one with an unknown step type, an unquoted placeholder in YAML, a missing steps list. */
const brokenWorkflows = fc.constantFrom(
  { type: 'application/json', body: JSON.stringify({ ...WORKFLOW, steps: [{ id: 'x', type: 'sendmail' }] }) },
  {
    type: 'text/yaml',
    body: WORKFLOW_YAML.replace('text: "Hello {{ inputs.customer }}"', 'text: {{ inputs.customer }}'),
  },
  { type: 'application/json', body: JSON.stringify({ schema_version: '1.0', id: WORKFLOW_ID }) },
  { type: 'text/yaml', body: 'id: [unclosed' },
);

type Variant = (path: string, values: Record<string, string>) => fc.Arbitrary<Sent>;

function variantsFor(path: string, method: string, operation: Operation): Variant[] {
  const query = (operation.parameters ?? []).filter((p) => p.in === 'query');
  const context = { document };
  const queryArb = fc
    .record(
      Object.fromEntries(
        query.map((p) => [p.name, arbitraryFor(p.schema, context).map((value) => String(value))]),
      ) as Record<string, fc.Arbitrary<string>>,
      { requiredKeys: [] },
    )
    .map((q) => q as Record<string, string>);
  const json = operation.requestBody?.content['application/json'];
  const isWorkflow = operation.requestBody?.content['text/yaml'] !== undefined;
  const bodyArb: fc.Arbitrary<{ type?: string; body?: string }> = isWorkflow
    ? workflowBodies(path)
    : json?.schema
      ? arbitraryFor(json.schema, context).map((value) => ({
          type: 'application/json',
          body: JSON.stringify(value),
        }))
      : fc.constant({});
  const request = (
    values: Record<string, string>,
    q: Record<string, string>,
    b: { type?: string; body?: string },
    headers: Record<string, string | undefined> = {},
  ): Sent => ({
    method,
    path: concretePath(path, values),
    query: q,
    headers: { ...(b.type ? { 'content-type': b.type } : {}), ...headers },
    ...(b.body === undefined ? {} : { body: b.body }),
  });

  const variants: Variant[] = [
    // Valid: values its schemas allow (an unknown id among them).
    (_, values) =>
      fc
        .tuple(queryArb, bodyArb, fc.option(fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/)))
        .map(([q, b, key]) =>
          request(
            values,
            q,
            b,
            key && operation.parameters?.some((p) => p.name === 'Idempotency-Key')
              ? { 'idempotency-key': key }
              : {},
          ),
        ),
    // An unknown query parameter.
    (_, values) => fc.tuple(queryArb, bodyArb).map(([q, b]) => request(values, { ...q, colour: 'red' }, b)),
    // No API key, or a wrong one.
    (_, values) =>
      fc
        .tuple(bodyArb, fc.constantFrom(undefined, 'Bearer wrong-key'))
        .map(([b, authorization]) => request(values, {}, b, { authorization })),
    // A page on another site.
    (_, values) => bodyArb.map((b) => request(values, {}, b, { origin: 'http://evil.example' })),
  ];
  if (path.includes('{')) {
    // A path parameter that breaks its rule: too long, or with characters no id has.
    variants.push((_, values) =>
      fc.constantFrom('x'.repeat(300), 'a%00b', '..%2F..', '%E2%80%AE').chain((bad) =>
        bodyArb.map((b) => ({
          ...request(values, {}, b),
          path: path.replace(/\{\w+\}/, bad).replace(/\{(\w+)\}/g, (_, n: string) => values[n] ?? 'x'),
        })),
      ),
    );
  }
  const integers = query.filter((p) => p.schema.type === 'integer');
  if (integers.length > 0) {
    variants.push((_, values) =>
      fc
        .tuple(
          fc.constantFrom(...integers),
          fc.constantFrom('0', '-1', '1e3', 'ten', '99999999999999999999'),
          bodyArb,
        )
        .map(([p, value, b]) => request(values, { [p.name]: value }, b)),
    );
  }
  if (operation.requestBody) {
    const invalid = json?.schema && !isWorkflow ? invalidObjectFor(json.schema, context) : undefined;
    variants.push((_, values) =>
      fc
        .oneof(
          ...(invalid
            ? [invalid.map((value) => ({ type: 'application/json', body: JSON.stringify(value) }))]
            : []),
          ...(isWorkflow ? [brokenWorkflows] : []),
          fc.constantFrom(
            { type: 'application/json', body: '{"unclosed": ' },
            { type: 'application/json', body: `${'['.repeat(200)}${']'.repeat(200)}` },
            { type: 'application/json', body: '{"n": 1e400}' },
            { type: 'text/plain', body: '{}' },
            { type: 'application/x-www-form-urlencoded', body: 'a=b' },
            { type: 'application/json; charset=latin1', body: '{}' },
          ),
        )
        .map((b) => request(values, {}, b)),
    );
  }
  return variants;
}

beforeAll(async () => {
  const served = await send({ method: 'GET', path: '/openapi.json' });
  expect(served.status).toBe(200);
  document = JSON.parse(served.body.toString('utf8')) as Document;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addJsonSchemaFormats(ajv);
  ajv.addSchema(document, 'openapi.json');

  expect((await api.call('POST', '/v1/workflows', WORKFLOW)).status).toBe(201);
  const failing = `schema_version: "1.0"\nid: ${FAILING_ID}\nsteps:\n  - { id: stop, type: fail, config: { error: Down, message: The service is down } }\n`;
  expect((await api.call('POST', '/v1/workflows', failing)).status).toBe(201);
  const created = await api.call('POST', '/v1/listeners', {
    id: LISTENER_ID,
    type: 'webhook',
    workflow_id: WORKFLOW_ID,
    // The hook's example body names the customer the workflow's inputs ask for.
    inputs: { customer: '{{ event.body.customer }}' },
  });
  expect(created.status).toBe(201);
  const template = await api.call('POST', '/v1/templates', { id: TEMPLATE_ID, text: 'Greet {{ name }}.' });
  expect(template.status).toBe(201);
  sharedRun = (await waitingRun()).id;
  await server.current.server.runtime.local.stores.artifacts.put(
    sharedRun,
    'report.txt',
    'a,b\n1,2\n',
    'text/csv',
  );
}, 60_000);

describe('the API answers as its OpenAPI document says', () => {
  it('for every operation: its example succeeds, and every generated request gets a documented answer', {
    timeout: 240_000,
  }, async () => {
    const operations = Object.entries(document.paths)
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
      )
      // Deletions last: what they remove is what the others act on.
      .sort((a, b) => Number(a.method === 'delete') - Number(b.method === 'delete'));
    for (const { path, method, operation } of operations) {
      const label = `${method.toUpperCase()} ${path}`;

      // The documented example, on the prepared world, succeeds.
      const values = await pathValues(operation.operationId);
      const media = operation.requestBody?.content['application/json'];
      const exampleBody =
        media?.example === undefined
          ? undefined
          : path === '/v1/workflows'
            ? JSON.stringify({ ...(media.example as object), id: 'from-the-example' })
            : JSON.stringify(media.example);
      const example = await send({
        method: method.toUpperCase(),
        path: concretePath(path, values),
        headers: exampleBody === undefined ? {} : { 'content-type': 'application/json' },
        ...(exampleBody === undefined ? {} : { body: exampleBody }),
      });
      checkAnswer(`${label} (its example)`, path, method, example);
      expect(
        example.status,
        `${label}: its example answered ${example.status}: ${example.body.toString('utf8').slice(0, 300)}`,
      ).toBeLessThan(300);

      const variants = variantsFor(path, method, operation);
      await fc.assert(
        fc.asyncProperty(fc.oneof(...variants.map((variant) => variant(path, values))), async (sent) => {
          checkAnswer(
            `${label} ${JSON.stringify({ ...sent, body: sent.body?.toString().slice(0, 200) })}`,
            path,
            method,
            await send(sent),
          );
        }),
        { numRuns: RUNS_PER_OPERATION, endOnFailure: true },
      );
    }
  });

  it('reached every layer: each operation answered a success and a refusal, and each framing status was seen', () => {
    for (const [operationId, statuses] of seen) {
      expect(
        [...statuses].some((s) => s < 300),
        `${operationId}: ${[...statuses]}`,
      ).toBe(true);
      expect(
        [...statuses].some((s) => s >= 400),
        `${operationId}: ${[...statuses]}`,
      ).toBe(true);
    }
    const all = new Set([...seen.values()].flatMap((statuses) => [...statuses]));
    expect([...all].sort()).toEqual(
      expect.arrayContaining([200, 201, 202, 204, 400, 401, 403, 404, 409, 415, 422]),
    );
  });

  it('refuses a body over the limit with 413 on every operation that takes one', {
    timeout: 60_000,
  }, async () => {
    const big = Buffer.alloc(MAX_BODY_BYTES + 1, 0x20);
    for (const [path, methods] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(methods)) {
        if (!operation.requestBody) continue;
        const got = await send({
          method: method.toUpperCase(),
          path: concretePath(path, { id: sharedRun, token: 'unused', listener_id: LISTENER_ID }),
          headers: { 'content-type': 'application/json' },
          body: big,
        });
        checkAnswer(`${method.toUpperCase()} ${path} (too big)`, path, method, got);
        expect(got.status).toBe(413);
      }
    }
  });

  it('serves the live event stream the document describes', async () => {
    const got = await send({
      method: 'GET',
      path: `/v1/executions/${sharedRun}/events`,
      headers: { accept: 'text/event-stream' },
    });
    checkAnswer('GET events as a stream', '/v1/executions/{id}/events', 'get', got);
    expect(got.headers['content-type']).toBe('text/event-stream');
    // The stream takes the operation's query parameters only, as the page of events does.
    const refused = await send({
      method: 'GET',
      path: `/v1/executions/${sharedRun}/events`,
      query: { colour: 'red' },
      headers: { accept: 'text/event-stream' },
    });
    checkAnswer(
      'GET events as a stream, with an unknown parameter',
      '/v1/executions/{id}/events',
      'get',
      refused,
    );
    expect(refused.status).toBe(422);
  });
});
