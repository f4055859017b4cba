/**
 * `flowrunner invoke <handler> <event.json>`: runs a Lambda handler on this machine on a sample
 * event (see `events/`) and prints its response, over the local runtime with the examples loaded, as
 * `npm start` wires it. `api` is the HTTP API handler; `trigger` the trigger function's.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { LocalRuntime } from '../infra/local/runtime.js';
import { ValidationError } from '../shared/errors.js';
import type { ListenerDefinition, Stores } from '../shared/ports/index.js';
import { deliveriesFromEvent } from '../shared/triggers/trigger-events.js';
import { paint, type Terminal } from './terminal.js';

export const HANDLERS = ['api', 'trigger'] as const;
type Handler = (typeof HANDLERS)[number];

const EXAMPLES = new URL('../examples/', import.meta.url);

export async function invokeCommand(
  terminal: Terminal,
  handler: string,
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  if (!(HANDLERS as readonly string[]).includes(handler)) {
    terminal.err(`There is no '${handler}' handler to invoke: the handlers are ${HANDLERS.join(' and ')}.`);
    return 2;
  }
  let event: unknown;
  try {
    event = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    terminal.err(`${file} is not a JSON event: ${(error as Error).message}`);
    return 2;
  }
  const check = handler === 'api' ? checkApiEvent(event) : checkTriggerEvent(event);
  if (check.length > 0) {
    for (const line of check) terminal.err(`${file}: ${line}`);
    return 2;
  }
  const temporary = env.FLOWRUNNER_DATA_DIR ? undefined : await mkdtemp(join(tmpdir(), 'flowrunner-invoke-'));
  const dataDir = resolve(env.FLOWRUNNER_DATA_DIR ?? temporary!);
  // Loaded here, not at start-up: the other commands do not need the AWS SDK.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const { LocalRuntime } = await import('../infra/local/runtime.js');
  const { loadWorkflows } = await import('../infra/local/workflows.js');
  const runtime = await LocalRuntime.start({ dataDir, env });
  try {
    await loadWorkflows(runtime, fileURLToPath(EXAMPLES));
    // A folder of the user's own keeps its own listeners; a temporary one gets the examples'.
    if (temporary) await loadExampleListeners(runtime);
    return await INVOKE[handler as Handler](terminal, runtime, event);
  } finally {
    await runtime.close();
    if (temporary) await rm(temporary, { recursive: true, force: true });
  }
}

const INVOKE: Record<
  Handler,
  (terminal: Terminal, runtime: LocalRuntime, event: unknown) => Promise<number>
> = {
  api: invokeApi,
  trigger: invokeTrigger,
};

function checkApiEvent(event: unknown): string[] {
  const v2 = event as APIGatewayProxyEventV2 | null;
  return v2?.version === '2.0' && typeof v2.requestContext?.http?.method === 'string'
    ? []
    : ["not an API Gateway v2 (HTTP API) event: the 'api' handler needs one."];
}

/** The trigger handler's own parse, before anything starts: a malformed event names its paths. */
function checkTriggerEvent(event: unknown): string[] {
  try {
    deliveriesFromEvent(event);
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.issues.length > 0 ? error.issues.map((i) => `${i.path}: ${i.message}`) : [error.message];
  }
}

async function invokeApi(terminal: Terminal, runtime: LocalRuntime, input: unknown): Promise<number> {
  const event = input as APIGatewayProxyEventV2;
  const { createApi } = await import('../functions/api/app.js');
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
}

async function invokeTrigger(terminal: Terminal, runtime: LocalRuntime, event: unknown): Promise<number> {
  const { createTriggerHandler, TriggerDeliveryError } = await import('../functions/handlers.js');
  const trigger = createTriggerHandler(() => runtime.deps);
  let report: Awaited<ReturnType<typeof trigger>>;
  let failed = false;
  try {
    report = await trigger(event);
  } catch (error) {
    if (!(error instanceof TriggerDeliveryError)) throw error;
    report = error.report;
    failed = true;
  }
  for (const delivery of report.deliveries) {
    const head = `${delivery.type} ${delivery.event_id}`;
    if ('error' in delivery) {
      terminal.err(paint(terminal, 'red', `${head} → ${delivery.error.code}: ${delivery.error.message}`));
      continue;
    }
    if (delivery.outcomes.length === 0) {
      terminal.err(paint(terminal, 'yellow', `${head} → no listener is concerned`));
    }
    for (const o of delivery.outcomes) {
      const detail = o.run_id ? ` ${o.run_id}` : o.error ? ` ${o.error.code}: ${o.error.message}` : '';
      const colour = o.outcome === 'failed' ? 'red' : o.outcome === 'started' ? 'green' : 'yellow';
      terminal.err(paint(terminal, colour, `${head} → ${o.listener_id}: ${o.outcome}${detail}`));
    }
  }
  if (report.deliveries.length === 0) terminal.err(paint(terminal, 'yellow', 'The event starts nothing.'));
  terminal.out(JSON.stringify(report, null, 2));
  return failed ? 1 : 0;
}

/** The listeners of examples/listeners/ (what `flowrunner listeners create` would make of each file). */
async function loadExampleListeners(runtime: LocalRuntime): Promise<void> {
  const { parseDocument } = await import('../shared/definition/parse.js');
  const folder = fileURLToPath(new URL('listeners/', EXAMPLES));
  const now = new Date().toISOString();
  for (const name of (await readdir(folder)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
    const file = parseDocument(await readFile(join(folder, name), 'utf8')).value as Omit<
      ListenerDefinition,
      'enabled' | 'created_at' | 'updated_at'
    > & { enabled?: boolean };
    await runtime.local.stores.listeners.create({
      ...file,
      enabled: file.enabled ?? true,
      created_at: now,
      updated_at: now,
    });
  }
}
