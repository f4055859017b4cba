/**
 * `flowrunner invoke <handler> <event.json>`: runs a Lambda handler on this machine on a sample
 * event (see `events/`) and prints its response. `api` is the HTTP API handler, over the local
 * runtime with the examples loaded, as `npm start` wires it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { Stores } from '../shared/ports/index.js';
import { paint, type Terminal } from './terminal.js';

export const HANDLERS = ['api'] as const;

export async function invokeCommand(
  terminal: Terminal,
  handler: string,
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  if (!(HANDLERS as readonly string[]).includes(handler)) {
    terminal.err(
      `There is no '${handler}' handler to invoke: only 'api' is available (the S3, EventBridge and schedule triggers are not built yet).`,
    );
    return 2;
  }
  const event = JSON.parse(await readFile(file, 'utf8')) as APIGatewayProxyEventV2;
  if (event?.version !== '2.0' || typeof event.requestContext?.http?.method !== 'string') {
    terminal.err(`${file} is not an API Gateway v2 (HTTP API) event: the 'api' handler needs one.`);
    return 2;
  }
  const temporary = env.FLOWRUNNER_DATA_DIR ? undefined : await mkdtemp(join(tmpdir(), 'flowrunner-invoke-'));
  const dataDir = resolve(env.FLOWRUNNER_DATA_DIR ?? temporary!);
  // Loaded here, not at start-up: the other commands do not need the AWS SDK.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { LocalRuntime } = await import('../infra/local/runtime.js');
  const { createApi } = await import('../functions/api/app.js');
  const { loadWorkflows } = await import('../infra/local/workflows.js');
  const runtime = await LocalRuntime.start({ dataDir, env });
  try {
    await loadWorkflows(runtime, fileURLToPath(new URL('../examples/', import.meta.url)));
    const api = createApi({ orchestrator: runtime.deps as typeof runtime.deps & { stores: Stores } });
    const context = { getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
    const result = await api(event, context);
    let body: unknown = result.body;
    if (typeof body === 'string' && /json/.test(String(result.headers?.['content-type'] ?? ''))) {
      body = JSON.parse(body);
    }
    const status = result.statusCode ?? 200;
    terminal.err(
      paint(
        terminal,
        status >= 400 ? 'red' : 'green',
        `${event.requestContext.http.method} ${event.rawPath} → ${status}`,
      ),
    );
    terminal.out(JSON.stringify({ statusCode: status, headers: result.headers ?? {}, body }, null, 2));
    return 0;
  } finally {
    await runtime.close();
    if (temporary) await rm(temporary, { recursive: true, force: true });
  }
}
