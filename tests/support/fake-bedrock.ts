/**
 * A loopback Bedrock Runtime (node:http, HTTP/1.1, on 127.0.0.1) that speaks the Converse API's JSON
 * (`POST /model/{modelId}/converse`) for the provider tests and the benchmark, and can be scripted.
 *
 * Like Bedrock, it answers a model without native structured output (`nativeModels` does not list
 * it) that is sent `outputConfig.textFormat` with 400 ValidationException, and errors carry their
 * type in `x-amzn-errortype` as the SDK's restJson1 protocol reads it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type BedrockReply =
  /** The model's text (stopReason `end_turn` unless given). */
  | { kind: 'text'; text: string; stopReason?: string }
  /** A toolUse block with this input (stopReason `tool_use`). */
  | { kind: 'tool'; name?: string; input: unknown }
  /** This value as JSON: as text when native output was asked, as the forced tool's input otherwise. */
  | { kind: 'json'; value: unknown }
  /** An error: HTTP status and the exception's name. */
  | { kind: 'error'; status: number; type: string; message?: string }
  /** Never answers. */
  | { kind: 'hang' };

export interface ConverseBody {
  messages: Array<{ role: string; content: Array<{ text?: string }> }>;
  system?: Array<{ text: string }>;
  inferenceConfig?: { temperature?: number; maxTokens?: number };
  toolConfig?: {
    tools: Array<{ toolSpec: { name: string; inputSchema: { json: Record<string, unknown> } } }>;
    toolChoice?: { tool?: { name: string } };
  };
  outputConfig?: {
    textFormat?: { type: string; structure: { jsonSchema: { name?: string; schema: string } } };
  };
}

export interface RecordedConverse {
  modelId: string;
  headers: IncomingMessage['headers'];
  body: ConverseBody;
}

export interface FakeBedrock {
  /** `http://127.0.0.1:<port>`: the client's `endpoint`. */
  endpoint: string;
  requests: RecordedConverse[];
  /** Replies in order; after the last, `fallback`. */
  script(...replies: BedrockReply[]): void;
  /** Default: `{}` as JSON. */
  fallback: BedrockReply;
  /** Models that take `outputConfig.textFormat` (default: every model whose id contains `native`). */
  nativeModels: (modelId: string) => boolean;
  close(): Promise<void>;
}

export const FAKE_USAGE = { inputTokens: 31, outputTokens: 12, totalTokens: 43 };

export async function startFakeBedrock(): Promise<FakeBedrock> {
  let queue: BedrockReply[] = [];
  const hanging = new Set<ServerResponse>();
  const fake: FakeBedrock = {
    endpoint: '',
    requests: [],
    script: (...replies) => {
      queue = [...replies];
    },
    fallback: { kind: 'json', value: {} },
    nativeModels: (id) => id.includes('native'),
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const error = (res: ServerResponse, status: number, type: string, message: string) => {
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': `req-${fake.requests.length}`,
    });
    res.end(JSON.stringify({ message }));
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/model\/([^/]+)\/converse$/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) {
        error(res, 404, 'UnknownOperationException', `no route ${req.method} ${req.url}`);
        return;
      }
      const modelId = decodeURIComponent(match[1]!);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ConverseBody;
      fake.requests.push({ modelId, headers: req.headers, body });
      if (body.outputConfig?.textFormat && !fake.nativeModels(modelId)) {
        error(
          res,
          400,
          'ValidationException',
          'This model does not support structured output (outputConfig).',
        );
        return;
      }
      const reply = queue.shift() ?? fake.fallback;
      if (reply.kind === 'hang') {
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      }
      if (reply.kind === 'error') {
        error(res, reply.status, reply.type, reply.message ?? reply.type);
        return;
      }
      const forced = body.toolConfig?.toolChoice?.tool?.name;
      let content: unknown[];
      let stopReason: string;
      if (reply.kind === 'text') {
        content = [{ text: reply.text }];
        stopReason = reply.stopReason ?? 'end_turn';
      } else if (reply.kind === 'tool' || (reply.kind === 'json' && forced)) {
        const input = reply.kind === 'tool' ? reply.input : reply.value;
        const name = reply.kind === 'tool' ? (reply.name ?? forced ?? 'answer') : forced!;
        content = [{ toolUse: { toolUseId: `tooluse_${fake.requests.length}`, name, input } }];
        stopReason = 'tool_use';
      } else {
        content = [{ text: JSON.stringify(reply.value) }];
        stopReason = 'end_turn';
      }
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-amzn-requestid': `req-${fake.requests.length}`,
      });
      res.end(
        JSON.stringify({
          output: { message: { role: 'assistant', content } },
          stopReason,
          usage: FAKE_USAGE,
          metrics: { latencyMs: 7 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
