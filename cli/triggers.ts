/**
 * `flowrunner listeners` (list, show, create from a YAML or JSON file, enable, disable, delete) and
 * `flowrunner events put`: the trigger commands, against a server like the other remote commands.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from '../shared/definition/parse.js';
import type { Listener } from '../shared/ports/index.js';
import { call, parseJson, type ServerOptions } from './remote.js';
import { paint, type Terminal } from './terminal.js';

export const listenersHelp = `Usage: flowrunner listeners [list]
       flowrunner listeners show <id>
       flowrunner listeners create <file>
       flowrunner listeners enable <id> | disable <id> | delete <id>

Manages the listeners that start workflows (s3, eventbridge, schedule, webhook).
A listener file is YAML or JSON: {id?, type, workflow_id, version?, match, inputs?, enabled?}.

Server options: --url, --api-key, --json, --help (see flowrunner start --help).`;

export const eventsHelp = `Usage: flowrunner events put --source S --detail-type T --detail JSON [--id ID] [--time ISO]

Puts an event on the project's event bus: every matching eventbridge listener fires.

Server options: --url, --api-key, --json, --help (see flowrunner start --help).`;

const id = (raw: string) => encodeURIComponent(raw);

function printListener(terminal: Terminal, listener: Listener): void {
  const state = listener.enabled
    ? paint(terminal, 'green', 'enabled')
    : paint(terminal, 'yellow', 'disabled');
  const counts = `fired ${listener.fired}, skipped ${listener.skipped}, failed ${listener.failed}`;
  const when = [
    listener.last_fired_at ? `last ${listener.last_fired_at}` : undefined,
    listener.next_fire_at ? `next ${listener.next_fire_at}` : undefined,
  ].filter(Boolean);
  terminal.out(
    `${paint(terminal, 'bold', listener.id)}  ${listener.type} → ${listener.workflow_id}${listener.version ? ` v${listener.version}` : ''}  ${state}  ${counts}${when.length ? `  ${when.join(', ')}` : ''}`,
  );
  if (listener.last_error) {
    terminal.out(
      `  last error: ${listener.last_error.code}: ${listener.last_error.message} (${listener.last_error.at})`,
    );
  }
}

export async function listenersCommand(
  terminal: Terminal,
  server: ServerOptions,
  action: string,
  target: string | undefined,
): Promise<number> {
  const show = (body: unknown) => {
    if (server.json) terminal.out(JSON.stringify(body));
    else printListener(terminal, body as Listener);
  };
  switch (action) {
    case 'list': {
      let cursor: string | null = null;
      const all: Listener[] = [];
      do {
        const query: string = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : '?limit=100';
        const page = (await call(terminal, server, 'GET', `/v1/listeners${query}`)).body as {
          items: Listener[];
          next_cursor: string | null;
        };
        all.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      if (server.json) terminal.out(JSON.stringify(all));
      else if (all.length === 0) terminal.out(paint(terminal, 'dim', 'No listeners.'));
      else for (const listener of all) printListener(terminal, listener);
      return 0;
    }
    case 'show':
      show((await call(terminal, server, 'GET', `/v1/listeners/${id(target!)}`)).body);
      return 0;
    case 'create': {
      const parsed = parseDocument(await readFile(target!, 'utf8'));
      if (parsed.value === undefined) {
        for (const issue of parsed.issues) {
          terminal.err(`${target}${issue.line ? `:${issue.line}` : ''}: ${issue.message}`);
        }
        return 2;
      }
      show((await call(terminal, server, 'POST', '/v1/listeners', parsed.value)).body);
      return 0;
    }
    case 'enable':
    case 'disable':
      show(
        (
          await call(terminal, server, 'PATCH', `/v1/listeners/${id(target!)}`, {
            enabled: action === 'enable',
          })
        ).body,
      );
      return 0;
    case 'delete':
      await call(terminal, server, 'DELETE', `/v1/listeners/${id(target!)}`);
      if (!server.json) terminal.out(`${paint(terminal, 'green', '✔')} deleted listener ${target}`);
      return 0;
    default:
      terminal.err(`Unknown listeners action '${action}'.`);
      terminal.err(listenersHelp);
      return 2;
  }
}

/** The actions that name a listener, and those that take no argument. */
export const LISTENER_ACTIONS: Record<string, 'id' | 'file' | 'none'> = {
  list: 'none',
  show: 'id',
  create: 'file',
  enable: 'id',
  disable: 'id',
  delete: 'id',
};

export async function eventsPutCommand(
  terminal: Terminal,
  server: ServerOptions,
  options: { source?: string; 'detail-type'?: string; detail?: string; id?: string; time?: string },
): Promise<number> {
  if (!options.source || !options['detail-type']) {
    terminal.err('events put needs --source and --detail-type.');
    return 2;
  }
  const detail = parseJson(terminal, '--detail', options.detail ?? '{}');
  if (detail === undefined) return 2;
  const answer = await call(terminal, server, 'POST', '/v1/events', {
    entries: [
      {
        source: options.source,
        detail_type: options['detail-type'],
        detail: detail.value,
        ...(options.id ? { id: options.id } : {}),
        ...(options.time ? { time: options.time } : {}),
      },
    ],
  });
  const body = answer.body as { entries: Array<{ event_id: string }> };
  if (server.json) terminal.out(JSON.stringify(body));
  else terminal.out(`${paint(terminal, 'green', '✔')} put event ${body.entries[0]?.event_id}`);
  return 0;
}
