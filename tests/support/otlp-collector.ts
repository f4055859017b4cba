/**
 * A loopback OTLP/HTTP collector for tests: it accepts `POST /v1/traces` in http/json and
 * http/protobuf, answers 200 as a collector does, and keeps every request (content type and raw
 * body). JSON bodies are parsed into spans; protobuf bodies are kept as bytes for the test to read.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
}

export interface OtlpCollector {
  /** `http://127.0.0.1:<port>` (OTEL_EXPORTER_OTLP_ENDPOINT: the exporter adds `/v1/traces`). */
  readonly url: string;
  readonly requests: ReadonlyArray<{ path: string; contentType: string; body: Buffer }>;
  /** The spans of every http/json request so far. */
  jsonSpans(): CollectedSpan[];
  close(): Promise<void>;
}

interface OtlpJsonValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: OtlpJsonValue[] };
}

function attributeValue(value: OtlpJsonValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  return value.arrayValue?.values?.map(attributeValue);
}

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const requests: Array<{ path: string; contentType: string; body: Buffer }> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        path: request.url ?? '/',
        contentType: request.headers['content-type'] ?? '',
        body: Buffer.concat(chunks),
      });
      const json = (request.headers['content-type'] ?? '').includes('json');
      response.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      response.end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    jsonSpans() {
      const spans: CollectedSpan[] = [];
      for (const request of requests) {
        if (!request.contentType.includes('json')) continue;
        const body = JSON.parse(request.body.toString('utf8')) as {
          resourceSpans?: Array<{
            scopeSpans?: Array<{
              spans?: Array<{
                traceId: string;
                spanId: string;
                parentSpanId?: string;
                name: string;
                attributes?: Array<{ key: string; value: OtlpJsonValue }>;
              }>;
            }>;
          }>;
        };
        for (const resource of body.resourceSpans ?? []) {
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                traceId: span.traceId,
                spanId: span.spanId,
                ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
                name: span.name,
                attributes: Object.fromEntries(
                  (span.attributes ?? []).map((a) => [a.key, attributeValue(a.value)]),
                ),
              });
            }
          }
        }
      }
      return spans;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
