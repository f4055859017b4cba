/** The `flowrunner` command: parses the arguments and runs one command. */
import { parseArgs } from 'node:util';
import { createTerminal, type Terminal } from './terminal.js';

// Each command imports its module when it runs, not at start-up: `--help` loads none of them, and
// `status` does not load the engine that `run` needs.

const help = `Usage: flowrunner <command> [options]

Commands:
  validate <file>   check a workflow and report every problem with its line
  run <file>        run a workflow on this machine and print its output
  invoke <handler> <event.json>
                    run a Lambda handler locally on a sample event (events/)

Against a server (--url, default FLOWRUNNER_URL or http://127.0.0.1:3000):
  start <workflow_id>   start a run
  status <run_id>       show a run and what it waits for
  resume <run_id>       answer a form (--input) or an approval (--approve/--reject)
  cancel <run_id>       cancel a run (compensation runs)
  logs <run_id>         print a run's events; --follow streams them until it ends
  listeners [action]    list, show, create <file>, enable, disable, delete listeners
  events put            put an event on the event bus (--source, --detail-type, --detail)

Run \`flowrunner <command> --help\` for a command's options.`;

export async function main(argv: string[], terminal: Terminal = createTerminal()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    terminal.out(help);
    return command === undefined ? 2 : 0;
  }
  try {
    switch (command) {
      case 'validate': {
        const { validateCommand, validateHelp } = await import('./validate.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
        });
        if (values.help) return usage(terminal, validateHelp, 0);
        if (positionals.length !== 1) return usage(terminal, validateHelp, 2);
        return await validateCommand(terminal, positionals[0]!, values.json ?? false);
      }
      case 'run': {
        const { runCommand, runHelp } = await import('./run.js');
        const { localSecretsFromEnv } = await import('./secrets.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            input: { type: 'string' },
            profile: { type: 'string' },
            help: { type: 'boolean', short: 'h' },
          },
        });
        if (values.help) return usage(terminal, runHelp, 0);
        if (positionals.length !== 1) return usage(terminal, runHelp, 2);
        return await runCommand(terminal, {
          file: positionals[0]!,
          ...(values.input === undefined ? {} : { input: values.input }),
          ...(values.profile === undefined ? {} : { profile: values.profile }),
          env: process.env,
          secrets: localSecretsFromEnv(process.env),
        });
      }
      case 'invoke': {
        const { invokeCommand, invokeHelp } = await import('./invoke.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { help: { type: 'boolean', short: 'h' } },
        });
        if (values.help) return usage(terminal, invokeHelp, 0);
        if (positionals.length !== 2) return usage(terminal, invokeHelp, 2);
        return await invokeCommand(terminal, positionals[0]!, positionals[1]!, process.env);
      }
      case 'start': {
        const { remote, serverFrom, serverOptions, startCommand, startHelp } = await import('./remote.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { ...serverOptions, input: { type: 'string' }, 'idempotency-key': { type: 'string' } },
        });
        if (values.help) return usage(terminal, startHelp, 0);
        if (positionals.length !== 1) return usage(terminal, startHelp, 2);
        const server = serverFrom(values, process.env);
        return await remote(() =>
          startCommand(terminal, server, positionals[0]!, {
            ...(values.input === undefined ? {} : { input: values.input }),
            ...(values['idempotency-key'] === undefined ? {} : { idempotencyKey: values['idempotency-key'] }),
          }),
        );
      }
      case 'status':
      case 'cancel': {
        const { cancelCommand, cancelHelp, remote, serverFrom, serverOptions, statusCommand, statusHelp } =
          await import('./remote.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: serverOptions,
        });
        const text = command === 'status' ? statusHelp : cancelHelp;
        if (values.help) return usage(terminal, text, 0);
        if (positionals.length !== 1) return usage(terminal, text, 2);
        const server = serverFrom(values, process.env);
        const fn = command === 'status' ? statusCommand : cancelCommand;
        return await remote(() => fn(terminal, server, positionals[0]!));
      }
      case 'resume': {
        const { remote, resumeCommand, resumeHelp, serverFrom, serverOptions } = await import('./remote.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            ...serverOptions,
            step: { type: 'string' },
            input: { type: 'string' },
            approve: { type: 'boolean' },
            reject: { type: 'boolean' },
            approver: { type: 'string' },
            comment: { type: 'string' },
          },
        });
        if (values.help) return usage(terminal, resumeHelp, 0);
        if (positionals.length !== 1) return usage(terminal, resumeHelp, 2);
        const server = serverFrom(values, process.env);
        const { url: _u, 'api-key': _k, json: _j, help: _h, ...options } = values;
        return await remote(() => resumeCommand(terminal, server, positionals[0]!, options));
      }
      case 'logs': {
        const { logsCommand, logsHelp, remote, serverFrom, serverOptions } = await import('./remote.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: { ...serverOptions, follow: { type: 'boolean', short: 'f' } },
        });
        if (values.help) return usage(terminal, logsHelp, 0);
        if (positionals.length !== 1) return usage(terminal, logsHelp, 2);
        const server = serverFrom(values, process.env);
        return await remote(() => logsCommand(terminal, server, positionals[0]!, values.follow ?? false));
      }
      case 'listeners': {
        const { LISTENER_ACTIONS, listenersCommand, listenersHelp } = await import('./triggers.js');
        const { remote, serverFrom, serverOptions } = await import('./remote.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: serverOptions,
        });
        if (values.help) return usage(terminal, listenersHelp, 0);
        const [action = 'list', target, ...extra] = positionals;
        const needs = LISTENER_ACTIONS[action];
        if (needs === undefined || extra.length > 0 || (needs === 'none') !== (target === undefined)) {
          return usage(terminal, listenersHelp, 2);
        }
        const server = serverFrom(values, process.env);
        return await remote(() => listenersCommand(terminal, server, action, target));
      }
      case 'events': {
        const { eventsHelp, eventsPutCommand } = await import('./triggers.js');
        const { remote, serverFrom, serverOptions } = await import('./remote.js');
        const { values, positionals } = parseArgs({
          args: rest,
          allowPositionals: true,
          options: {
            ...serverOptions,
            source: { type: 'string' },
            'detail-type': { type: 'string' },
            detail: { type: 'string' },
            id: { type: 'string' },
            time: { type: 'string' },
          },
        });
        if (values.help) return usage(terminal, eventsHelp, 0);
        if (positionals.length !== 1 || positionals[0] !== 'put') return usage(terminal, eventsHelp, 2);
        const server = serverFrom(values, process.env);
        const { url: _u, 'api-key': _k, json: _j, help: _h, ...options } = values;
        return await remote(() => eventsPutCommand(terminal, server, options));
      }
      default:
        terminal.err(`Unknown command '${command}'.`);
        return usage(terminal, help, 2);
    }
  } catch (error) {
    // Bad arguments and unreadable files are the user's to fix: say what, without a stack.
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code?.startsWith('ERR_PARSE_ARGS')) {
      terminal.err((error as Error).message);
      return 2;
    }
    throw error;
  } finally {
    terminal.close();
  }
}

function usage(terminal: Terminal, text: string, code: number): number {
  (code === 0 ? terminal.out : terminal.err)(text);
  return code;
}
