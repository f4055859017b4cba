/** `flowrunner validate <file>`: checks a workflow and reports every problem with its line. */
import { readFile } from 'node:fs/promises';
import { validateWorkflow } from '../shared/definition/validate.js';
import { paint, type Terminal } from './terminal.js';

export async function validateCommand(terminal: Terminal, file: string, json: boolean): Promise<number> {
  const text = await readFile(file, 'utf8');
  const format = file.endsWith('.json') ? 'json' : undefined;
  const result = validateWorkflow(text, format ? { format } : {});
  if (json) {
    terminal.out(JSON.stringify({ valid: result.valid, errors: result.errors }));
    return result.valid ? 0 : 1;
  }
  if (result.valid) {
    const steps = result.workflow?.steps.length ?? 0;
    terminal.out(
      `${paint(terminal, 'green', '✔')} ${file}: ${result.workflow?.id} is valid (${steps} step${steps === 1 ? '' : 's'})`,
    );
    return 0;
  }
  for (const error of result.errors) {
    const where = error.line === undefined ? file : `${file}:${error.line}:${error.column ?? 1}`;
    terminal.out(
      `${paint(terminal, 'dim', where)}  ${paint(terminal, 'bold', error.path)}: ${error.message}`,
    );
  }
  const count = result.errors.length;
  terminal.out(paint(terminal, 'red', `✖ ${count} problem${count === 1 ? '' : 's'}`));
  return 1;
}
