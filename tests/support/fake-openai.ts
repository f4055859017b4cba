/**
 * A loopback OpenAI-compatible server (node:http on 127.0.0.1) for the provider tests: it answers
 * `POST /v1/chat/completions` the way the real API does where it matters, and can be scripted.
 *
 * Like OpenAI, it refuses with 400 `invalid_json_schema` a `response_format.json_schema` sent with
 * `strict: true` that strict structured outputs cannot take (`strictSchemaErrors`, written here from
 * the API's documented rules, independently of shared/ai/strict-schema.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeReply =
  /** An answer with this content (finish_reason `stop` unless given). */
  | { kind: 'content'; content: string; finish_reason?: 'stop' | 'length' | 'content_filter' }
  /** The content is this value as JSON. */
  | { kind: 'json'; value: unknown }
  /** A refusal (`message.refusal`, content null). */
  | { kind: 'refusal'; refusal: string }
  /** An HTTP error with an OpenAI-style error body. */
  | { kind: 'status'; status: number; headers?: Record<string, string>; code?: string; message?: string }
  /** Never answers (until the server stops or the client gives up). */
  | { kind: 'hang' }
  /** Sends the status line, the headers and the start of a body, then nothing more. */
  | { kind: 'stall' }
  /** An answer as it is given: the model it names and its usage, whatever they are. */
  | { kind: 'raw'; model: unknown; usage: unknown }
  /** An answer whose content is `bytes` long, sent in 64 KB chunks without a content-length (as a stream is). */
  | { kind: 'flood'; bytes: number };

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: {
    model: string;
    messages: Array<{ role: string; content: string }>;
    temperature?: number;
    response_format?: {
      type: string;
      json_schema?: { name: string; schema: Record<string, unknown>; strict?: boolean };
    };
  };
}

export interface FakeOpenAi {
  /** `http://127.0.0.1:<port>/v1`: the client's `baseURL`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Replies in order; after the last, `fallback`. */
  script(...replies: FakeReply[]): void;
  /** What to answer when the script is used up (default: `{}` as JSON). */
  fallback: FakeReply | ((request: RecordedRequest) => FakeReply);
  close(): Promise<void>;
}

/**
 * The keywords OpenAI's strict mode takes, written out here on purpose rather than imported from
 * shared/ai/strict-schema.ts: the fake stands for OpenAI, and the property test that every schema
 * the transform sends strict is accepted by this checker would prove nothing against its own list.
 */
const STRICT_ALLOWED = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'const',
  'anyOf',
  '$ref',
  '$defs',
  'definitions',
  'description',
  'title',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minItems',
  'maxItems',
]);

/** Why OpenAI would refuse `schema` with `strict: true` (empty: it would take it). */
export function strictSchemaErrors(schema: unknown): string[] {
  const errors: string[] = [];
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    return ['schema must be an object'];
  const root = schema as Record<string, unknown>;
  if (root.type !== 'object' || 'anyOf' in root)
    errors.push("root schema must have type 'object' and not be anyOf");
  const visit = (node: unknown, path: string) => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) {
      errors.push(`${path}: schema must be an object`);
      return;
    }
    const s = node as Record<string, unknown>;
    for (const key of Object.keys(s)) {
      if (!STRICT_ALLOWED.has(key)) errors.push(`${path}: '${key}' is not permitted`);
    }
    if ('$defs' in s && path !== '#') errors.push(`${path}: '$defs' only at the root`);
    const types = Array.isArray(s.type) ? s.type : [s.type];
    const isObject = types.includes('object') || 'properties' in s;
    if (isObject) {
      if (s.additionalProperties !== false) {
        errors.push(`${path}: 'additionalProperties' is required to be supplied and to be false`);
      }
      const properties = (s.properties ?? {}) as Record<string, unknown>;
      const required = Array.isArray(s.required) ? s.required : [];
      for (const key of Object.keys(properties)) {
        if (!required.includes(key))
          errors.push(`${path}: 'required' must include every key in properties: missing '${key}'`);
        visit(properties[key], `${path}/properties/${key}`);
      }
    }
    if ('items' in s) visit(s.items, `${path}/items`);
    if (Array.isArray(s.anyOf)) for (const [i, b] of s.anyOf.entries()) visit(b, `${path}/anyOf/${i}`);
    if (!('type' in s) && !('anyOf' in s) && !('$ref' in s) && !('enum' in s) && !('const' in s)) {
      errors.push(`${path}: schema must have a 'type' key`);
    }
    for (const defs of ['$defs', 'definitions'] as const) {
      if (typeof s[defs] === 'object' && s[defs] !== null) {
        for (const [name, def] of Object.entries(s[defs] as Record<string, unknown>))
          visit(def, `${path}/${defs}/${name}`);
      }
    }
  };
  visit(root, '#');
  return errors;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_fake_1', ...headers });
  res.end(JSON.stringify(body));
}

function errorBody(message: string, type: string, code: string | null, param: string | null = null) {
  return { error: { message, type, param, code } };
}

function completion(model: string, content: string | null, finish: string, refusal: string | null = null) {
  return {
    id: 'chatcmpl-fake',
    object: 'chat.completion',
    created: 1_760_000_000,
    model: `${model}-2025-01-01`,
    choices: [
      { index: 0, message: { role: 'assistant', content, refusal }, finish_reason: finish, logprobs: null },
    ],
    usage: { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 },
  };
}

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const queue: FakeReply[] = [];
  const requests: RecordedRequest[] = [];
  const fake = {} as FakeOpenAi;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        send(res, 404, errorBody(`Unknown path ${req.url}`, 'invalid_request_error', 'unknown_url'));
        return;
      }
      if (req.headers.authorization !== 'Bearer sk-test') {
        send(res, 401, errorBody('Incorrect API key provided', 'invalid_request_error', 'invalid_api_key'));
        return;
      }
      let body: RecordedRequest['body'];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        send(
          res,
          400,
          errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', null),
        );
        return;
      }
      const recorded: RecordedRequest = { path: req.url, headers: req.headers, body };
      requests.push(recorded);
      const format = body.response_format?.json_schema;
      if (format?.strict === true) {
        const problems = strictSchemaErrors(format.schema);
        if (problems.length > 0) {
          send(
            res,
            400,
            errorBody(
              `Invalid schema for response_format '${format.name}': In context=(), ${problems[0]}.`,
              'invalid_request_error',
              'invalid_json_schema',
              'response_format',
            ),
          );
          return;
        }
      }
      const next =
        queue.shift() ?? (typeof fake.fallback === 'function' ? fake.fallback(recorded) : fake.fallback);
      switch (next.kind) {
        case 'hang':
          return; // the socket stays open until the client aborts or the server closes
        case 'stall':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"id":"chatcmpl-stall","choices":[');
          return;
        case 'raw':
          send(res, 200, {
            ...completion(body.model, JSON.stringify({ subject: 's', body: 'b', cc: null }), 'stop'),
            model: next.model,
            usage: next.usage,
          });
          return;
        case 'status':
          send(
            res,
            next.status,
            errorBody(
              next.message ?? `status ${next.status}`,
              next.status === 429 ? 'requests' : 'server_error',
              next.code ?? null,
            ),
            next.headers,
          );
          return;
        case 'refusal':
          send(res, 200, completion(body.model, null, 'stop', next.refusal));
          return;
        case 'json':
          send(res, 200, completion(body.model, JSON.stringify(next.value), 'stop'));
          return;
        case 'content':
          send(res, 200, completion(body.model, next.content, next.finish_reason ?? 'stop'));
          return;
        case 'flood': {
          const text = JSON.stringify(completion(body.model, 'x'.repeat(next.bytes), 'stop'));
          res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
          let at = 0;
          const more = () => {
            while (at < text.length && !res.destroyed) {
              const chunk = text.slice(at, at + 65_536);
              at += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', more);
            }
            res.end();
          };
          more();
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  Object.assign(fake, {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    fallback: { kind: 'json', value: {} } as FakeReply,
    script: (...replies: FakeReply[]) => {
      queue.push(...replies);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return fake;
}
