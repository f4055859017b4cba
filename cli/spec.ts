/**
 * What a command is, as data: its name, arguments, options and help. The parser, `--help`, the
 * reference in docs/cli.md and the shell completions are all made from these definitions, so they
 * cannot drift apart.
 */
import type { Terminal } from './terminal.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The placeholder shown for a string option's value (`JSON`, `N`). */
  value?: string;
  description: string;
}

export interface CommandContext {
  terminal: Terminal;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  env: NodeJS.ProcessEnv;
}

export interface CommandSpec {
  /** One word, or a group and a verb: `workflows list`. */
  name: string;
  /** The arguments as the usage line shows them: `<run_id>`, `<file>...`. */
  args?: string;
  summary: string;
  /** Paragraphs shown by `--help` below the usage line. */
  details?: string;
  /** How many positional arguments it takes: [min, max]; max `Infinity` for a list. */
  arity: [number, number];
  options?: Record<string, OptionSpec>;
  /** Talks to a server: takes --url, --api-key and --json. */
  server?: boolean;
  /** Its own exit codes, when they are not the common ones. */
  exitCodes?: string;
  /** Where the help lists it. */
  section: Section;
  run(context: CommandContext): Promise<number>;
}

export const Section = {
  local: 'On this machine',
  runs: 'Runs (against a server)',
  workflows: 'Workflows (against a server)',
  triggers: 'Triggers (against a server)',
  shell: 'Shell',
} as const;
export type Section = (typeof Section)[keyof typeof Section];

export const DEFAULT_URL = 'http://127.0.0.1:3000';

/** How long `logs --follow` waits for a server that went away (a restart) before it gives up. */
export const FOLLOW_RECONNECT_MS = 60_000;

export const SERVER_OPTIONS: Record<string, OptionSpec> = {
  url: {
    type: 'string',
    value: 'URL',
    description: `the server (default FLOWRUNNER_URL or ${DEFAULT_URL})`,
  },
  'api-key': { type: 'string', value: 'KEY', description: 'sent as x-api-key (default FLOWRUNNER_API_KEY)' },
  json: { type: 'boolean', description: "print the server's answer as JSON, one document per line" },
};

export const HELP_OPTION: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show this help' },
};

export const COMMON_EXIT_CODES = `0 done; 1 the server refused (its Problem Details are printed); 2 bad arguments, an unreadable file, or no server at the URL.`;

/** Every option a command takes, its own first. */
export function optionsOf(spec: CommandSpec): Record<string, OptionSpec> {
  return { ...spec.options, ...(spec.server ? SERVER_OPTIONS : {}), ...HELP_OPTION };
}

function optionLabel(name: string, option: OptionSpec): string {
  const flag = `${option.short ? `-${option.short}, ` : ''}--${name}`;
  return option.type === 'string' ? `${flag} ${option.value ?? 'VALUE'}` : flag;
}

export function usageLine(spec: CommandSpec): string {
  return `flowrunner ${spec.name}${spec.args ? ` ${spec.args}` : ''}${Object.keys(spec.options ?? {}).length > 0 ? ' [options]' : ''}`;
}

/** `--help` of one command. */
export function commandHelp(spec: CommandSpec): string {
  const options = optionsOf(spec);
  const labels = Object.entries(options).map(([name, o]) => [optionLabel(name, o), o.description] as const);
  const width = Math.max(...labels.map(([label]) => label.length)) + 2;
  return [
    `Usage: ${usageLine(spec)}`,
    '',
    spec.summary,
    ...(spec.details ? ['', spec.details] : []),
    '',
    'Options:',
    ...labels.map(([label, description]) => `  ${label.padEnd(width)}${description}`),
    '',
    `Exit codes: ${spec.exitCodes ?? COMMON_EXIT_CODES}`,
  ].join('\n');
}

/** The help of `flowrunner` itself: every command by section. */
export function overview(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => `${c.name}${c.args ? ` ${c.args}` : ''}`.length)) + 2;
  const lines = ['Usage: flowrunner <command> [options]'];
  for (const section of Object.values(Section)) {
    const inSection = commands.filter((c) => c.section === section);
    if (inSection.length === 0) continue;
    lines.push('', `${section}:`);
    for (const c of inSection) {
      lines.push(`  ${`${c.name}${c.args ? ` ${c.args}` : ''}`.padEnd(width)}${c.summary}`);
    }
  }
  lines.push(
    '',
    `Against a server: --url (default FLOWRUNNER_URL or ${DEFAULT_URL}), --api-key, --json.`,
    "Run `flowrunner <command> --help` for a command's options, `flowrunner completion bash|zsh` for completions.",
  );
  return lines.join('\n');
}

/** The reference in docs/cli.md. */
export function markdownReference(commands: readonly CommandSpec[]): string {
  const lines = [
    '# The `flowrunner` command',
    '',
    '<!-- Generated from cli/commands.ts by `npm run docs:cli`; tests/unit/cli-operate.test.ts checks it. -->',
    '',
    '`npx flowrunner <command>` (or `node bin/flowrunner.mjs`). Commands against a server take',
    `\`--url\` (default \`FLOWRUNNER_URL\` or \`${DEFAULT_URL}\`), \`--api-key\` (default`,
    '`FLOWRUNNER_API_KEY`) and `--json`, which prints what the server answered, one JSON document per',
    'line, for scripts. Colours are used only on a terminal, and never with `NO_COLOR` set.',
    '',
    `Exit codes unless a command says otherwise: ${COMMON_EXIT_CODES}`,
  ];
  for (const section of Object.values(Section)) {
    const inSection = commands.filter((c) => c.section === section);
    if (inSection.length === 0) continue;
    lines.push('', `## ${section}`);
    for (const c of inSection) {
      lines.push('', `### \`${c.name}\``, '', '```', usageLine(c), '```', '', c.summary);
      if (c.details) lines.push('', c.details);
      const options = { ...c.options, ...(c.server ? SERVER_OPTIONS : {}) };
      if (Object.keys(options).length > 0) {
        lines.push('', '| option | |', '| --- | --- |');
        for (const [name, o] of Object.entries(options)) {
          lines.push(`| \`${optionLabel(name, o)}\` | ${o.description.replaceAll('|', '\\|')} |`);
        }
      }
      if (c.exitCodes) lines.push('', `Exit codes: ${c.exitCodes}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
