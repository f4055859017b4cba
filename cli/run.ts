/**
 * `flowrunner run <file>`: runs a workflow on this machine, in memory, with live progress; asks for
 * form fields and approvals at the terminal, and prints the run's output.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomIds } from '../shared/adapters/ids.js';
import { validateWorkflow } from '../shared/definition/validate.js';
import type { RunEvent } from '../shared/engine/types.js';
import { FlowrunnerError } from '../shared/errors.js';
import { Harness } from '../shared/harness/harness.js';
import { createNodeHttpClient } from '../shared/http/node-http-client.js';
import { orchestratorSettings } from '../shared/orchestration/compose.js';
import type { SecretSource } from '../shared/ports/index.js';
import { paint, type Terminal } from './terminal.js';

export const runHelp = `Usage: flowrunner run <file> [--input JSON] [--profile JSON]

Runs a workflow on this machine, in memory, and prints its output as JSON.
On a terminal it shows each step as it runs and asks for form fields and
approvals; otherwise a run that waits for a person stops with exit code 3.
Workflows in the same folder are loaded too, for \`workflow\` steps.

Options:
  --input JSON     the run's inputs (default {})
  --profile JSON   caller data, visible to expressions as \`profile\`
  --help           show this help

Exit codes: 0 completed, 1 failed or canceled, 2 bad arguments or an invalid
workflow, 3 waiting for a person without a terminal to ask.

Environment: MOCK_AI_MODE, MOCK_AI_SEED, FLOWRUNNER_SECRET_<NAME>,
FLOWRUNNER_ALLOW_PRIVATE_NETWORK (default true).`;

export interface RunCommandOptions {
  file: string;
  input?: string;
  profile?: string;
  env: NodeJS.ProcessEnv;
  secrets: SecretSource;
}

export async function runCommand(terminal: Terminal, options: RunCommandOptions): Promise<number> {
  const inputs = parseJsonOption(terminal, '--input', options.input);
  const profile = parseJsonOption(terminal, '--profile', options.profile);
  if (inputs === INVALID || profile === INVALID) return 2;

  const text = await readFile(options.file, 'utf8');
  const checked = validateWorkflow(text, options.file.endsWith('.json') ? { format: 'json' } : {});
  if (!checked.valid || !checked.workflow) {
    for (const e of checked.errors)
      terminal.err(`${options.file}:${e.line ?? 1}:${e.column ?? 1}  ${e.path}: ${e.message}`);
    return 2;
  }

  let changed: () => void = () => {};
  const http = createNodeHttpClient();
  const harness = new Harness({
    realTime: true,
    http,
    ids: randomIds,
    settings: orchestratorSettings(options.env, { allowLoopback: true }),
    secretSource: options.secrets,
    workflows: [checked.workflow, ...(await siblings(options.file, checked.workflow.id))],
    onEvent: (runId, event) => {
      if (terminal.interactive) progress(terminal, runId, event);
      changed();
    },
  });
  try {
    const started = await harness.start(checked.workflow.id, {
      ...(inputs === undefined ? {} : { inputs }),
      ...(profile === undefined ? {} : { profile }),
    });
    const id = started.id;
    for (;;) {
      const run = harness.run(id);
      if (run.status === 'completed' || run.status === 'failed' || run.status === 'canceled') break;
      const people = (await harness.waiting(id)).filter((w) => w.kind === 'form' || w.kind === 'approval');
      if (people.length > 0) {
        if (!terminal.interactive) {
          terminal.err(
            `The run waits for ${people.map((w) => `${w.kind} '${w.step_id}'`).join(', ')}; run it on a terminal to answer.`,
          );
          return 3;
        }
        await answer(terminal, harness, id, people[0]!);
        continue;
      }
      // Timers and child runs: wait for the next event of any run, then for the runs to settle.
      await new Promise<void>((resolve) => {
        changed = resolve;
      });
      await harness.idle();
    }
    const run = harness.run(id);
    if (run.status === 'completed') {
      terminal.out(JSON.stringify(run.output ?? null, null, terminal.interactive ? 2 : undefined));
      return 0;
    }
    terminal.err(`${paint(terminal, 'red', `Run ${run.status}`)}: ${run.error?.code}: ${run.error?.message}`);
    return 1;
  } catch (error) {
    if (error instanceof FlowrunnerError) {
      terminal.err(`${error.code}: ${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    harness.close();
    http.close();
  }
}

const INVALID = Symbol('invalid');

function parseJsonOption(terminal: Terminal, name: string, raw: string | undefined): unknown {
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch (error) {
    terminal.err(`${name} is not JSON: ${(error as Error).message}`);
    return INVALID;
  }
}

/** The other valid workflows in the same folder, for `workflow` steps. */
async function siblings(file: string, id: string) {
  const folder = dirname(file);
  const names = (await readdir(folder)).filter(
    (name) => /\.(ya?ml|json)$/.test(name) && name !== basename(file),
  );
  const found = [];
  for (const name of names) {
    const result = validateWorkflow(await readFile(join(folder, name), 'utf8'));
    if (result.workflow && result.workflow.id !== id) found.push(result.workflow);
  }
  return found;
}

function progress(terminal: Terminal, runId: string, event: RunEvent) {
  const at = event.at.slice(11, 19);
  const who = event.step_id ? paint(terminal, 'bold', event.step_id) : paint(terminal, 'dim', runId);
  const colour = event.type.endsWith('failed') ? 'red' : event.type.endsWith('completed') ? 'green' : 'blue';
  const detail =
    event.type === 'step.retrying'
      ? ` (attempt ${event.data.next_attempt} in ${event.data.delay_s} s)`
      : event.type === 'step.failed' || event.type === 'run.failed'
        ? ` ${(event.data.error as { code?: string } | undefined)?.code ?? ''}`
        : '';
  terminal.err(
    `${paint(terminal, 'dim', at)} ${paint(terminal, colour, event.type.padEnd(17))} ${who}${detail}`,
  );
}

type Waiting = Awaited<ReturnType<Harness['waiting']>>[number];

/** Asks for a form's fields or an approval's decision until the run accepts the answer. */
async function answer(terminal: Terminal, harness: Harness, runId: string, wait: Waiting): Promise<void> {
  for (;;) {
    const payload = wait.kind === 'form' ? await askForm(terminal, wait) : await askApproval(terminal, wait);
    const outcome = await harness.resume(runId, payload, wait.step_id);
    if (outcome.accepted) return;
    terminal.err(paint(terminal, 'red', outcome.rejection?.message ?? 'Not accepted'));
    const issues = (outcome.rejection?.details?.issues ?? []) as Array<{ path: string; message: string }>;
    for (const issue of issues) terminal.err(`  ${issue.path}: ${issue.message}`);
  }
}

interface FieldView {
  key: string;
  type?: string;
  required?: boolean;
  enum?: unknown[];
  default?: unknown;
  label?: string;
}

async function askForm(terminal: Terminal, wait: Waiting) {
  terminal.err(paint(terminal, 'bold', `${wait.title ?? `Form '${wait.step_id}'`}`));
  if (typeof wait.message === 'string') terminal.err(wait.message);
  const inputs: Record<string, unknown> = {};
  for (const field of (wait.fields ?? []) as FieldView[]) {
    const hints = [
      field.type ?? 'string',
      field.required ? 'required' : undefined,
      field.enum ? field.enum.join('/') : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    const fallback = field.default === undefined ? '' : ` [${JSON.stringify(field.default)}]`;
    const raw = (await terminal.ask(`  ${field.label ?? field.key} (${hints})${fallback}: `)).trim();
    if (raw !== '') inputs[field.key] = typed(field.type, raw);
  }
  return { inputs };
}

/** Turns typed text into the field's type; what does not convert is sent as text for the form to refuse. */
function typed(type: string | undefined, raw: string): unknown {
  switch (type) {
    case 'number':
    case 'integer':
      return Number.isNaN(Number(raw)) ? raw : Number(raw);
    case 'boolean':
      return /^(y|yes|true)$/i.test(raw) ? true : /^(n|no|false)$/i.test(raw) ? false : raw;
    case 'object':
    case 'array':
      try {
        return JSON.parse(raw);
      } catch {
        return raw;
      }
    default:
      return raw;
  }
}

async function askApproval(terminal: Terminal, wait: Waiting) {
  const approvers = (wait.approvers ?? []) as string[];
  terminal.err(paint(terminal, 'bold', `Approval '${wait.step_id}'`));
  if (typeof wait.message === 'string') terminal.err(wait.message);
  const approver = (await terminal.ask(`  approver [${approvers[0] ?? ''}]: `)).trim() || approvers[0] || '';
  const decision = (await terminal.ask('  decision (approve/reject): ')).trim();
  const comment = (await terminal.ask('  comment (optional): ')).trim();
  return { decision, approver, ...(comment ? { comment } : {}) };
}
