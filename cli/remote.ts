/**
 * The commands that talk to a Flowrunner server over HTTP: `start`, `status`, `resume`, `cancel`
 * and `logs`. Problem Details from the server are printed as they are meant to be read; a server
 * that does not answer gets a one-line hint.
 */
import { paint, type Terminal } from './terminal.js';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export interface ServerOptions {
  url: string;
  apiKey?: string;
  json: boolean;
}

const common = `Server options:
  --url URL        the server (default FLOWRUNNER_URL or ${DEFAULT_URL})
  --api-key KEY    sent as x-api-key (default FLOWRUNNER_API_KEY)
  --json           print the server's answer as JSON
  --help           show this help

Exit codes: 0 done, 1 the server refused (its Problem Details are printed),
2 bad arguments or no server at the URL.`;

export const startHelp = `Usage: flowrunner start <workflow_id> [--input JSON] [--idempotency-key K]

Starts a run of a stored workflow and prints it.

Options:
  --input JSON            the run's inputs (default {})
  --idempotency-key K     the same key and body start the run only once
${common}`;

export const statusHelp = `Usage: flowrunner status <run_id>

Shows a run: its status, the steps that wait for an answer (form fields,
approvers) with their callback tokens, and its output or error.

${common}`;

export const resumeHelp = `Usage: flowrunner resume <run_id> [--step S] --input JSON
       flowrunner resume <run_id> [--step S] (--approve | --reject) --approver E [--comment C]

Answers a waiting step: a form with --input, an approval with a decision.

Options:
  --step S         the waiting step (needed when several wait)
  --input JSON     the form's fields, e.g. '{"email":"a@example.com"}'
  --approve        approve (with --approver)
  --reject         reject (with --approver)
  --approver E     who decides; must be one of the step's approvers
  --comment C      a comment for the decision
${common}`;

export const cancelHelp = `Usage: flowrunner cancel <run_id>

Cancels a run; the steps it completed are compensated in reverse order.

${common}`;

export const logsHelp = `Usage: flowrunner logs <run_id> [--follow]

Prints a run's events. With --follow, keeps reading the live stream until
the run ends.

Options:
  --follow         stream new events until the run ends
${common}`;

export const serverOptions = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function serverFrom(
  values: { url?: string; 'api-key'?: string; json?: boolean },
  env: NodeJS.ProcessEnv,
): ServerOptions {
  const apiKey = values['api-key'] ?? env.FLOWRUNNER_API_KEY;
  return {
    url: (values.url ?? env.FLOWRUNNER_URL ?? DEFAULT_URL).replace(/\/+$/, ''),
    ...(apiKey ? { apiKey } : {}),
    json: values.json ?? false,
  };
}

/** A refusal or an unreachable server, already explained to the user; carries the exit code. */
class Reported extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}

interface Answer {
  status: number;
  body: unknown;
}

export async function call(
  terminal: Terminal,
  server: ServerOptions,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await request(terminal, server, path, {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  if (response.status >= 400) {
    problem(terminal, response.status, response.statusText, parsed);
    throw new Reported(1);
  }
  return { status: response.status, body: parsed };
}

async function request(
  terminal: Terminal,
  server: ServerOptions,
  path: string,
  init: RequestInit & { headers: Record<string, string> },
): Promise<Response> {
  const headers = { ...init.headers, ...(server.apiKey ? { 'x-api-key': server.apiKey } : {}) };
  try {
    return await fetch(`${server.url}${path}`, { ...init, headers });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    terminal.err(
      `${paint(terminal, 'red', 'No Flowrunner server')} at ${server.url} (${why}): start one with \`npm start\`, or give --url.`,
    );
    throw new Reported(2);
  }
}

/** Prints Problem Details: `422 Unprocessable Content: <detail>`, then each `path: message`. */
function problem(terminal: Terminal, status: number, statusText: string, body: unknown) {
  const details = (typeof body === 'object' && body !== null ? body : {}) as {
    title?: string;
    detail?: string;
    errors?: Array<{ path?: string; message?: string }>;
  };
  const title = details.title ?? statusText;
  const detail = details.detail ?? (typeof body === 'string' && body ? body : undefined);
  terminal.err(`${paint(terminal, 'red', `${status} ${title}`)}${detail ? `: ${detail}` : ''}`);
  for (const e of details.errors ?? []) terminal.err(`  ${e.path || '(root)'}: ${e.message ?? ''}`);
}

/** Runs one command body; refusals already printed become their exit code. */
export async function remote(fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof Reported) return error.exitCode;
    throw error;
  }
}

export function parseJson(terminal: Terminal, name: string, raw: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(raw) };
  } catch (error) {
    terminal.err(`${name} is not JSON: ${(error as Error).message}`);
    return undefined;
  }
}

interface WaitingView {
  step_id: string;
  type: string;
  fields?: Array<{ key: string; type?: string; required?: boolean; enum?: unknown[] }>;
  approvers?: string[];
  message?: unknown;
  title?: unknown;
  expires_at?: string;
  callback_token?: string;
}

interface RunView {
  id: string;
  workflow_id: string;
  workflow_version?: number;
  status: string;
  waiting?: WaitingView[];
  output?: unknown;
  error?: { code?: string; message?: string };
  compensated?: boolean;
}

const STATUS_COLOUR = {
  completed: 'green',
  failed: 'red',
  canceled: 'red',
  waiting: 'yellow',
  paused: 'yellow',
} as const;

function printRun(terminal: Terminal, run: RunView) {
  const colour = STATUS_COLOUR[run.status as keyof typeof STATUS_COLOUR] ?? 'blue';
  terminal.out(
    `${paint(terminal, 'bold', run.id)}  ${run.workflow_id}${run.workflow_version ? ` v${run.workflow_version}` : ''}  ${paint(terminal, colour, run.status)}`,
  );
  for (const wait of run.waiting ?? []) {
    const what =
      wait.type === 'form'
        ? `fields ${(wait.fields ?? [])
            .map((f) => `${f.key}${f.required ? '*' : ''}${f.enum ? ` (${f.enum.join('/')})` : ''}`)
            .join(', ')}`
        : wait.type === 'approval'
          ? `approvers ${(wait.approvers ?? []).join(', ')}`
          : wait.type;
    terminal.out(`  waiting: ${paint(terminal, 'bold', wait.step_id)} (${wait.type}) for ${what}`);
    if (typeof wait.message === 'string') terminal.out(`    message: ${wait.message}`);
    if (wait.expires_at) terminal.out(`    expires: ${wait.expires_at}`);
    if (wait.callback_token) terminal.out(`    callback token: ${wait.callback_token}`);
  }
  if (run.status === 'waiting' && (run.waiting ?? []).length === 0)
    terminal.out(paint(terminal, 'dim', '  no step waits for an answer: a retry or a timer is pending'));
  if (run.output !== undefined) terminal.out(`  output: ${JSON.stringify(run.output)}`);
  if (run.error) terminal.out(`  error: ${run.error.code ?? ''}: ${run.error.message ?? ''}`);
  if (run.compensated !== undefined) terminal.out(`  compensated: ${run.compensated}`);
}

const id = (raw: string) => encodeURIComponent(raw);

export async function startCommand(
  terminal: Terminal,
  server: ServerOptions,
  workflowId: string,
  options: { input?: string; idempotencyKey?: string },
): Promise<number> {
  const inputs = options.input === undefined ? undefined : parseJson(terminal, '--input', options.input);
  if (options.input !== undefined && inputs === undefined) return 2;
  const answer = await call(
    terminal,
    server,
    'POST',
    '/v1/executions',
    { workflow_id: workflowId, ...(inputs ? { inputs: inputs.value } : {}) },
    options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
  );
  if (server.json) terminal.out(JSON.stringify(answer.body));
  else {
    printRun(terminal, answer.body as RunView);
    if (answer.status === 200) terminal.out(paint(terminal, 'dim', '  (already started with this key)'));
  }
  return 0;
}

export async function statusCommand(terminal: Terminal, server: ServerOptions, runId: string) {
  const answer = await call(terminal, server, 'GET', `/v1/executions/${id(runId)}`);
  if (server.json) terminal.out(JSON.stringify(answer.body));
  else printRun(terminal, answer.body as RunView);
  return 0;
}

export async function resumeCommand(
  terminal: Terminal,
  server: ServerOptions,
  runId: string,
  options: {
    step?: string;
    input?: string;
    approve?: boolean;
    reject?: boolean;
    approver?: string;
    comment?: string;
  },
): Promise<number> {
  const decisions = [options.approve, options.reject].filter(Boolean).length;
  if ((options.input === undefined) === (decisions === 0) || decisions > 1) {
    terminal.err('Give either --input JSON (a form) or one of --approve/--reject (an approval).');
    return 2;
  }
  let payload: Record<string, unknown>;
  if (options.input !== undefined) {
    const inputs = parseJson(terminal, '--input', options.input);
    if (inputs === undefined) return 2;
    payload = { inputs: inputs.value };
  } else {
    if (!options.approver) {
      terminal.err('--approve and --reject need --approver E.');
      return 2;
    }
    payload = {
      decision: options.approve ? 'approve' : 'reject',
      approver: options.approver,
      ...(options.comment ? { comment: options.comment } : {}),
    };
  }
  const answer = await call(terminal, server, 'POST', `/v1/executions/${id(runId)}/resume`, {
    ...(options.step ? { step_id: options.step } : {}),
    ...payload,
  });
  const body = answer.body as { step_id?: string; accepted?: boolean };
  if (server.json) terminal.out(JSON.stringify(body));
  else terminal.out(`${paint(terminal, 'green', '✔')} answered '${body.step_id}' of ${runId}`);
  return 0;
}

export async function cancelCommand(terminal: Terminal, server: ServerOptions, runId: string) {
  const answer = await call(terminal, server, 'POST', `/v1/executions/${id(runId)}/cancel`, {});
  if (server.json) terminal.out(JSON.stringify(answer.body));
  else terminal.out(`${paint(terminal, 'green', '✔')} cancel requested for ${runId}`);
  return 0;
}

interface RunEvent {
  seq: number;
  type: string;
  at: string;
  step_id?: string;
  data?: Record<string, unknown>;
}

function printEvent(terminal: Terminal, server: ServerOptions, event: RunEvent) {
  if (server.json) return terminal.out(JSON.stringify(event));
  const colour = event.type.endsWith('failed')
    ? 'red'
    : event.type.endsWith('completed')
      ? 'green'
      : event.type.includes('waiting')
        ? 'yellow'
        : 'blue';
  const error = (event.data?.error as { code?: string } | undefined)?.code;
  const rest = [event.step_id, error].filter(Boolean).join(' ');
  terminal.out(
    `${paint(terminal, 'dim', event.at)} ${paint(terminal, colour, rest ? event.type.padEnd(18) : event.type)}${rest ? ` ${rest}` : ''}`,
  );
}

export async function logsCommand(
  terminal: Terminal,
  server: ServerOptions,
  runId: string,
  follow: boolean,
): Promise<number> {
  if (!follow) {
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?after=${encodeURIComponent(cursor)}&limit=100` : '?limit=100';
      const answer = await call(terminal, server, 'GET', `/v1/executions/${id(runId)}/events${query}`);
      const page = answer.body as { events: RunEvent[]; next_cursor: string | null };
      for (const event of page.events) printEvent(terminal, server, event);
      cursor = page.events.length > 0 ? page.next_cursor : null;
    } while (cursor);
    return 0;
  }
  const response = await request(terminal, server, `/v1/executions/${id(runId)}/events`, {
    method: 'GET',
    headers: { accept: 'text/event-stream' },
  });
  if (response.status >= 400 || !response.body) {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    problem(terminal, response.status, response.statusText, body);
    return 1;
  }
  // Server-sent events: blocks separated by a blank line; `data:` lines hold the event as JSON.
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n');
      if (data) printEvent(terminal, server, JSON.parse(data) as RunEvent);
      end = buffer.indexOf('\n\n');
    }
  }
  return 0;
}
