/** The `flowrunner` command: finds the command in cli/commands.ts, parses its arguments, runs it. */
import { parseArgs } from 'node:util';
import { COMMANDS } from './commands.js';
import { type CommandSpec, commandHelp, optionsOf, overview } from './spec.js';
import { createTerminal, type Terminal } from './terminal.js';

/** The command named by the first one or two words (`status`, `workflows list`), and the rest. */
function find(argv: readonly string[]): { spec?: CommandSpec; rest: string[]; group?: string } {
  const [first, second, ...after] = argv;
  const two = COMMANDS.find((c) => c.name === `${first} ${second}`);
  if (two) return { spec: two, rest: after };
  const one = COMMANDS.find((c) => c.name === first);
  if (one) return { spec: one, rest: argv.slice(1) };
  const isGroup = COMMANDS.some((c) => c.name.startsWith(`${first} `));
  // A group without a verb lists: `flowrunner workflows` is `flowrunner workflows list`.
  const list = COMMANDS.find((c) => c.name === `${first} list`);
  if (list && (second === undefined || second.startsWith('-'))) return { spec: list, rest: argv.slice(1) };
  return { rest: argv.slice(1), ...(isGroup ? { group: first! } : {}) };
}

export async function main(
  argv: string[],
  terminal: Terminal = createTerminal(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      (command === undefined ? terminal.err : terminal.out)(overview(COMMANDS));
      return command === undefined ? 2 : 0;
    }
    const { spec, rest, group } = find(argv);
    if (!spec) {
      if (group !== undefined) {
        const verbs = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name);
        const wanted = rest[0] === undefined || rest[0].startsWith('-') ? '' : ` '${rest[0]}'`;
        terminal.err(
          `'flowrunner ${group}' needs one of: ${verbs.join(', ')}${wanted ? ` (not${wanted})` : ''}.`,
        );
      } else terminal.err(`Unknown command '${command}'. Run \`flowrunner --help\` for the list.`);
      return 2;
    }
    const options = Object.fromEntries(
      Object.entries(optionsOf(spec)).map(([name, o]) => [
        name,
        { type: o.type, ...(o.short ? { short: o.short } : {}) },
      ]),
    );
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options });
    if (values.help) {
      terminal.out(commandHelp(spec));
      return 0;
    }
    const [min, max] = spec.arity;
    if (positionals.length < min || positionals.length > max) {
      terminal.err(commandHelp(spec));
      return 2;
    }
    return await spec.run({ terminal, values, positionals, env });
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
