/** Output for people: colours only on a terminal and without NO_COLOR, and questions at the prompt. */
import { createInterface } from 'node:readline/promises';

export interface Terminal {
  out(line: string): void;
  err(line: string): void;
  readonly interactive: boolean;
  readonly color: boolean;
  ask(question: string): Promise<string>;
  close(): void;
}

export function createTerminal(
  stdin: NodeJS.ReadStream = process.stdin,
  stdout: NodeJS.WriteStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Terminal {
  const interactive = Boolean(stdin.isTTY && stdout.isTTY);
  const color = Boolean(stdout.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  let prompt: ReturnType<typeof createInterface> | undefined;
  return {
    out: (line) => stdout.write(`${line}\n`),
    err: (line) => stderr.write(`${line}\n`),
    interactive,
    color,
    ask: (question) => {
      prompt ??= createInterface({ input: stdin, output: stdout });
      return prompt.question(question);
    },
    close: () => prompt?.close(),
  };
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, dim: 2, bold: 1 } as const;
export type Style = keyof typeof CODES;

export function paint(terminal: Pick<Terminal, 'color'>, style: Style, text: string): string {
  return terminal.color ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
}
