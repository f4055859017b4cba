/** The `flowrunner` command: parses the arguments and runs one command. */
import { parseArgs } from 'node:util';
import { runCommand, runHelp } from './run.js';
import { localSecretsFromEnv } from './secrets.js';
import { createTerminal, type Terminal } from './terminal.js';
import { validateCommand, validateHelp } from './validate.js';

const help = `Usage: flowrunner <command> [options]

Commands:
  validate <file>   check a workflow and report every problem with its line
  run <file>        run a workflow on this machine and print its output

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
