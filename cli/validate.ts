/**
 * `flowrunner validate <file>`: checks a workflow and reports every problem with its line; warns
 * about AI answer schemas that cannot be sent strict; and, when a server is reachable, checks that
 * the prompt templates the workflow names exist there (the store is the server's).
 */
import { readFile } from 'node:fs/promises';
import { strictSchemaWarnings } from '../shared/ai/strict-warnings.js';
import { parseDocument } from '../shared/definition/parse.js';
import { formatPath, parsePath } from '../shared/definition/paths.js';
import { templateReferenceProblems } from '../shared/definition/template-references.js';
import { validateWorkflow } from '../shared/definition/validate.js';
import { type ErrorIssue, NotFoundError } from '../shared/errors.js';
import type { PromptTemplate, PromptTemplateSource } from '../shared/ports/index.js';
import type { ServerOptions } from './remote.js';
import { paint, type Terminal } from './terminal.js';

/** How long the template check waits for the server before it gives up on it. */
const SERVER_TIMEOUT_MS = 5_000;

/** The server could not be asked (not running, refused the key, answered oddly). */
class ServerUnavailable extends Error {}

/** The server's templates, read over its API. */
function serverTemplates(server: ServerOptions): Pick<PromptTemplateSource, 'get'> {
  return {
    async get(id, version) {
      const url = `${server.url}/v1/templates/${encodeURIComponent(id)}${version === undefined ? '' : `?version=${version}`}`;
      let response: Response;
      try {
        response = await fetch(url, {
          headers: { accept: 'application/json', ...(server.apiKey ? { 'x-api-key': server.apiKey } : {}) },
          signal: AbortSignal.timeout(SERVER_TIMEOUT_MS),
        });
      } catch (error) {
        throw new ServerUnavailable(`no server answered at ${server.url} (${(error as Error).message})`);
      }
      if (response.status === 404) throw new NotFoundError('Template', id);
      if (!response.ok) throw new ServerUnavailable(`${server.url} answered ${response.status}`);
      return (await response.json()) as PromptTemplate;
    },
  };
}

export async function validateCommand(
  terminal: Terminal,
  file: string,
  json: boolean,
  server: ServerOptions,
): Promise<number> {
  const text = await readFile(file, 'utf8');
  const format = file.endsWith('.json') ? 'json' : undefined;
  const result = validateWorkflow(text, format ? { format } : {});
  const located = parseDocument(text, format);
  const at = (issue: ErrorIssue): ErrorIssue => {
    const position = located.locate(parsePath(issue.path));
    return position ? { ...issue, ...position } : issue;
  };
  const errors = [...result.errors];
  const warnings: ErrorIssue[] = [];
  if (result.valid && result.workflow) {
    for (const warning of strictSchemaWarnings(result.workflow)) {
      warnings.push(at({ path: formatPath(warning.path), message: warning.message }));
    }
    try {
      errors.push(...(await templateReferenceProblems(result.workflow, serverTemplates(server))).map(at));
    } catch (error) {
      if (!(error instanceof ServerUnavailable)) throw error;
      terminal.err(paint(terminal, 'dim', `prompt templates not checked: ${error.message}`));
    }
  }
  const valid = errors.length === 0;
  if (json) {
    terminal.out(JSON.stringify({ valid, errors, warnings }));
    return valid ? 0 : 1;
  }
  const where = (issue: ErrorIssue) =>
    paint(terminal, 'dim', issue.line === undefined ? file : `${file}:${issue.line}:${issue.column ?? 1}`);
  for (const warning of warnings) {
    terminal.out(
      `${where(warning)}  ${paint(terminal, 'bold', warning.path)}: ${paint(terminal, 'yellow', 'warning')} ${warning.message}`,
    );
  }
  if (valid) {
    const steps = result.workflow?.steps.length ?? 0;
    terminal.out(
      `${paint(terminal, 'green', '✔')} ${file}: ${result.workflow?.id} is valid (${steps} step${steps === 1 ? '' : 's'})`,
    );
    return 0;
  }
  for (const error of errors) {
    terminal.out(`${where(error)}  ${paint(terminal, 'bold', error.path)}: ${error.message}`);
  }
  const count = errors.length;
  terminal.out(paint(terminal, 'red', `✖ ${count} problem${count === 1 ? '' : 's'}`));
  return 1;
}
