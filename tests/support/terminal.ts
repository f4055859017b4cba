/** A terminal for CLI tests: it records what is printed and answers prompts from a script. */
import type { Terminal } from '../../cli/terminal.js';

export function fakeTerminal(answers: string[] = [], interactive = false) {
  const out: string[] = [];
  const err: string[] = [];
  const asked: string[] = [];
  const terminal: Terminal = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    interactive,
    color: false,
    ask: async (question) => {
      asked.push(question);
      const next = answers.shift();
      if (next === undefined) throw new Error(`no scripted answer for: ${question}`);
      return next;
    },
    close: () => {},
  };
  return { terminal, out, err, asked };
}
