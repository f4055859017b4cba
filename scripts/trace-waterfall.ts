/**
 * Draws docs/trace-waterfall.{txt,svg} and the picture in docs/observability.md: one run on the local server (a form answered over HTTP, an
 * API call, a child run that asks the mock model) with its spans caught by an in-memory exporter, and
 * the spans of the run's trace rendered as a waterfall. `npx tsx scripts/trace-waterfall.ts`.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { startLocalServer } from '../infra/local/server.js';
import { createOtelTelemetry } from '../shared/adapters/otel.js';
import { type WaterfallSpan, waterfallSvg, waterfallText } from '../shared/observability/waterfall.js';

const CHILD = `schema_version: "1.0"
id: welcome-draft
steps:
  - id: draft
    type: ai_generate
    config:
      prompt: "Write a welcome line for {{ inputs.name }}"
      json_schema: { type: object, required: [line], properties: { line: { type: string } } }
`;
const parent = (crm: string) => `schema_version: "1.0"
id: signup
steps:
  - id: collect
    type: form
    config: { fields: [{ key: name, type: string, required: true }] }
    next: register
  - id: register
    type: api_call
    config: { method: POST, url: "${crm}/contacts", body: { name: "{{ steps.collect.output.name }}" } }
    next: welcome
  - id: welcome
    type: workflow
    config: { workflow_id: welcome-draft, inputs: { name: "{{ steps.collect.output.name }}" } }
`;

const crm = createServer((request, response) => {
  request.resume().on('end', () => setTimeout(() => response.end('{"id":"c_1"}'), 15));
});
await new Promise<void>((resolve) => crm.listen(0, '127.0.0.1', resolve));
const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-waterfall-'));
const exporter = new InMemorySpanExporter();
const telemetry = createOtelTelemetry({ exporter, processor: 'simple' });
const server = await startLocalServer({ dataDir, port: 0, env: { FLOWRUNNER_API_KEYS: '' }, telemetry });
const call = async (method: string, path: string, body?: unknown) => {
  const answer = await fetch(`${server.url}${path}`, {
    method,
    headers:
      body === undefined
        ? {}
        : { 'content-type': typeof body === 'string' ? 'text/yaml' : 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return (await answer.json()) as Record<string, unknown>;
};
const until = async (id: string, done: (run: Record<string, unknown>) => boolean) => {
  for (;;) {
    const run = await call('GET', `/v1/executions/${id}`);
    if (done(run)) return run;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
try {
  await call('POST', '/v1/workflows', CHILD);
  await call('POST', '/v1/workflows', parent(`http://127.0.0.1:${(crm.address() as AddressInfo).port}`));
  const run = await call('POST', '/v1/executions', { workflow_id: 'signup' });
  const id = run.id as string;
  await until(id, (r) => (r.waiting as unknown[]).length > 0);
  await new Promise((resolve) => setTimeout(resolve, 250)); // a person takes a moment to answer
  await call('POST', `/v1/executions/${id}/resume`, { inputs: { name: 'Ada' } });
  await until(id, (r) => r.status === 'completed');
  const { state } = await server.runtime.local.stores.runs.get(id);
  const traceId = state.trace!.trace_id;
  const spans: WaterfallSpan[] = (exporter.getFinishedSpans() as ReadableSpan[])
    .filter((s) => s.spanContext().traceId === traceId)
    .map((s) => {
      const note = s.attributes['flowrunner.step.id'] ?? s.attributes['flowrunner.signal.type'];
      return {
        spanId: s.spanContext().spanId,
        ...(s.parentSpanContext ? { parentSpanId: s.parentSpanContext.spanId } : {}),
        name: s.name,
        start: s.startTime[0] * 1000 + s.startTime[1] / 1e6,
        end: s.endTime[0] * 1000 + s.endTime[1] / 1e6,
        ...(note === undefined ? {} : { note: String(note) }),
      };
    });
  const text = waterfallText(spans);
  await writeFile('docs/trace-waterfall.txt', text);
  const doc = await readFile('docs/observability.md', 'utf8');
  await writeFile(
    'docs/observability.md',
    doc.replace(
      /<!-- waterfall:start -->[\s\S]*<!-- waterfall:end -->/,
      () => `<!-- waterfall:start -->\n\`\`\`\n${text}\`\`\`\n<!-- waterfall:end -->`,
    ),
  );
  await writeFile('docs/trace-waterfall.svg', waterfallSvg(spans));
  process.stdout.write(text);
} finally {
  await server.close();
  crm.close();
  await rm(dataDir, { recursive: true, force: true });
}
