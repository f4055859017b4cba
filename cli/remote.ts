/**
 * Talking to a Flowrunner server over HTTP, and the run commands: `start`, `status`, `resume`,
 * `logs`. Problem Details from the server are printed as they are meant to be read; a server that
 * does not answer gets a one-line hint.
 */
import { DEFAULT_URL, FOLLOW_RECONNECT_MS } from './spec.js';
import { paint, type Terminal } from './terminal.js';

export interface ServerOptions {
  url: string;
  apiKey?: string;
  json: boolean;
}

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

/**
 * One request. A string body is sent as it is (give its content type), anything else as JSON. A
 * status of 400 or more is printed as Problem Details and ends the command with exit code 1, except
 * the statuses in `expected`, which the caller handles.
 */
export async function call(
  terminal: Terminal,
  server: ServerOptions,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  expected: readonly number[] = [],
): Promise<Answer> {
  const response = await request(terminal, server, path, {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined || typeof body === 'string' ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const parsed = await bodyOf(response);
  if (response.status >= 400 && !expected.includes(response.status)) {
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
  try {
    return await fetchFrom(server, path, init);
  } catch (error) {
    throw new Reported(unreachable(terminal, server, error));
  }
}

/** One request to the server, with its API key; what fails to reach it throws. */
function fetchFrom(
  server: ServerOptions,
  path: string,
  init: RequestInit & { headers: Record<string, string> },
): Promise<Response> {
  const headers = { ...init.headers, ...(server.apiKey ? { 'x-api-key': server.apiKey } : {}) };
  return fetch(`${server.url}${path}`, { ...init, headers });
}

/** The one-line hint for a server that does not answer; the exit code 2. */
function unreachable(terminal: Terminal, server: ServerOptions, error: unknown): number {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  terminal.err(
    `${paint(terminal, 'red', 'No Flowrunner server')} at ${server.url} (${why}): start one with \`npm start\`, or give --url.`,
  );
  return 2;
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

export interface RunView {
  id: string;
  workflow_id: string;
  workflow_version?: number;
  status: string;
  waiting?: WaitingView[];
  output?: unknown;
  error?: { code?: string; message?: string };
  compensated?: boolean;
  redrives?: number;
  rerun_of?: string;
}

const STATUS_COLOUR = {
  completed: 'green',
  failed: 'red',
  canceled: 'red',
  waiting: 'yellow',
  paused: 'yellow',
} as const;

export function printRun(terminal: Terminal, run: RunView) {
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
  if (run.redrives !== undefined) terminal.out(`  redriven: ${run.redrives} time(s)`);
  if (run.rerun_of !== undefined) terminal.out(`  rerun of: ${run.rerun_of}`);
}

export const id = (raw: string) => encodeURIComponent(raw);

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

/** `status` exits with this when the run failed or was canceled, so a script can tell. */
export const EXIT_RUN_DID_NOT_COMPLETE = 4;

export async function statusCommand(terminal: Terminal, server: ServerOptions, runId: string) {
  const answer = await call(terminal, server, 'GET', `/v1/executions/${id(runId)}`);
  const run = answer.body as RunView;
  if (server.json) terminal.out(JSON.stringify(run));
  else printRun(terminal, run);
  return run.status === 'failed' || run.status === 'canceled' ? EXIT_RUN_DID_NOT_COMPLETE : 0;
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

/** Waits between tries to reconnect: a restart of `npm start` takes a second or two. */
const RECONNECT_WAITS_MS = [250, 500, 1000, 2000, 4000];

const FINAL_STATUSES = new Set(['completed', 'failed', 'canceled']);

export async function logsCommand(
  terminal: Terminal,
  server: ServerOptions,
  runId: string,
  follow: boolean,
  reconnectMs = FOLLOW_RECONNECT_MS,
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
  // The stream goes on from the last event shown (`Last-Event-ID`) whenever it has to be opened
  // again: the server stopped (a restart, a kill) or the connection broke. It ends when the run has
  // ended and every event is shown, or when no event came for `reconnectMs` while the server was
  // away or answered nothing useful. A server that does not stream (the cloud API answers a page
  // of JSON) is read page by page instead.
  let last = 0;
  let connected = false;
  let lostAt: number | undefined;
  let waits = 0;
  const shown = (event: RunEvent) => {
    printEvent(terminal, server, event);
    last = event.seq;
    lostAt = undefined;
    waits = 0;
  };
  for (;;) {
    const opened = await openEventStream(server, runId, last);
    if (opened instanceof Response && opened.status < 500) {
      if (opened.status >= 400 || !opened.body) {
        problem(terminal, opened.status, opened.statusText, await bodyOf(opened));
        return 1;
      }
      const reconnected = lostAt !== undefined;
      if (reconnected) terminal.err(`${paint(terminal, 'green', 'Reconnected')}: the events go on.`);
      connected = true;
      if (!(opened.headers.get('content-type') ?? '').includes('text/event-stream')) {
        await opened.body.cancel();
        const polled = await pollEvents(server, runId, last, shown);
        if (polled === 'ended') return 0;
      } else {
        const read = await readEventStream(opened.body, shown);
        if (read === 'invalid') {
          terminal.err(`${paint(terminal, 'red', 'The server sent an event that is not JSON')}: stopped.`);
          return 1;
        }
        // The stream ended on its own: the run ended, or the server is stopping (it ends its streams).
        if (read === 'ended' && (await runEnded(server, runId))) return 0;
      }
      if (reconnected) lostAt ??= Date.now();
    } else if (opened instanceof Response) {
      await opened.body?.cancel(); // a server error (a busy store, too many streams): try again
    } else if (!connected) {
      // Never connected: no server there (the hint `call` gives).
      return unreachable(terminal, server, opened);
    }
    const now = Date.now();
    if (lostAt === undefined) {
      lostAt = now;
      terminal.err(
        `${paint(terminal, 'yellow', connected ? 'Lost the stream' : 'No stream yet')} from ${server.url}; trying again (the events go on from where they stopped)…`,
      );
    } else if (now - lostAt >= reconnectMs) {
      terminal.err(
        `${paint(terminal, 'red', `No events from ${server.url}`)} for ${Math.round(reconnectMs / 1000)} s while it was away: run \`flowrunner logs ${runId} --follow\` again to go on.`,
      );
      return 2;
    }
    await new Promise((resolve) =>
      setTimeout(resolve, RECONNECT_WAITS_MS[Math.min(waits++, RECONNECT_WAITS_MS.length - 1)]),
    );
  }
}

/** How often a server that does not stream is asked for the events after the last one. */
const POLL_MS = 1_000;

/**
 * The events of a run read page by page, from a server that does not stream: until the run has
 * ended and every event is shown (`ended`), or the server fails to answer (`lost`).
 */
async function pollEvents(
  server: ServerOptions,
  runId: string,
  after: number,
  onEvent: (event: RunEvent) => void,
): Promise<'ended' | 'lost'> {
  let last = after;
  for (;;) {
    let page: { events: RunEvent[] };
    try {
      const response = await fetchFrom(server, `/v1/executions/${id(runId)}/events?after=${last}&limit=100`, {
        headers: { accept: 'application/json' },
      });
      if (!response.ok) {
        await response.body?.cancel();
        return 'lost';
      }
      page = (await response.json()) as { events: RunEvent[] };
    } catch {
      return 'lost';
    }
    for (const event of page.events) {
      onEvent(event);
      last = event.seq;
    }
    if (page.events.length === 100) continue;
    if (page.events.length === 0 && (await runEnded(server, runId))) return 'ended';
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The stream of a run's events after `after`, or why it could not be opened. */
async function openEventStream(
  server: ServerOptions,
  runId: string,
  after: number,
): Promise<Response | unknown> {
  try {
    return await fetchFrom(server, `/v1/executions/${id(runId)}/events`, {
      headers: { accept: 'text/event-stream', ...(after > 0 ? { 'last-event-id': String(after) } : {}) },
    });
  } catch (error) {
    return error;
  }
}

/**
 * Reads Server-Sent Events (blocks separated by a blank line; `data:` lines hold the event as JSON)
 * until the stream ends (`ended`), breaks (`broke`: the connection was lost) or sends something that
 * is not an event (`invalid`).
 */
async function readEventStream(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: RunEvent) => void,
): Promise<'ended' | 'broke' | 'invalid'> {
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
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
        if (data) {
          let event: RunEvent;
          try {
            event = JSON.parse(data) as RunEvent;
          } catch {
            await body.cancel().catch(() => undefined);
            return 'invalid';
          }
          onEvent(event);
        }
        end = buffer.indexOf('\n\n');
      }
    }
    return 'ended';
  } catch {
    return 'broke';
  }
}

/** Whether the run has ended (when its server cannot say, it has not, as far as we know). */
async function runEnded(server: ServerOptions, runId: string): Promise<boolean> {
  try {
    const response = await fetchFrom(server, `/v1/executions/${id(runId)}`, {
      headers: { accept: 'application/json' },
    });
    if (!response.ok) {
      await response.body?.cancel();
      return false;
    }
    return FINAL_STATUSES.has(((await response.json()) as { status?: string }).status ?? '');
  } catch {
    return false;
  }
}

/** A response's body as JSON, else as its text (undefined when empty). */
async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
