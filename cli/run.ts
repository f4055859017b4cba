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
import type { FormField } from '../shared/steps/form.js';
import { checkFormAnswer } from '../shared/steps/form-fields.js';
import { paint, type Terminal } from './terminal.js';

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
      const people = await peopleWaiting(harness, id);
      if (people.length > 0) {
        if (!terminal.interactive) {
          terminal.err(
            `The run waits for ${people.map((w) => `${w.kind} '${w.step_id}'${w.run_id === id ? '' : ` of child run ${w.run_id}`}`).join(', ')}; run it on a terminal to answer.`,
          );
          return 3;
        }
        await answer(terminal, harness, people[0]!);
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

type Waiting = Awaited<ReturnType<Harness['waiting']>>[number] & { run_id: string };

/** The forms and approvals waiting in the run and in its child runs, however deep. */
async function peopleWaiting(harness: Harness, runId: string): Promise<Waiting[]> {
  const found: Waiting[] = [];
  for (const wait of await harness.waiting(runId)) {
    if (wait.kind === 'form' || wait.kind === 'approval') found.push({ ...wait, run_id: runId });
    else if (wait.kind === 'child' && typeof wait.child_run_id === 'string') {
      found.push(...(await peopleWaiting(harness, wait.child_run_id)));
    }
  }
  return found;
}

/** Asks for a form's fields or an approval's decision until the run accepts the answer. */
async function answer(terminal: Terminal, harness: Harness, wait: Waiting): Promise<void> {
  for (;;) {
    const payload = wait.kind === 'form' ? await askForm(terminal, wait) : await askApproval(terminal, wait);
    const outcome = await harness.resume(wait.run_id, payload, wait.step_id);
    if (outcome.accepted) return;
    terminal.err(paint(terminal, 'red', outcome.rejection?.message ?? 'Not accepted'));
    const issues = (outcome.rejection?.details?.issues ?? []) as Array<{ path: string; message: string }>;
    for (const issue of issues) terminal.err(`  ${issue.path}: ${issue.message}`);
  }
}

/** Asks for each field until its value fits (checked as the form checks it), then the next one. */
async function askForm(terminal: Terminal, wait: Waiting) {
  terminal.err(paint(terminal, 'bold', `${wait.title ?? `Form '${wait.step_id}'`}`));
  if (typeof wait.message === 'string') terminal.err(wait.message);
  const inputs: Record<string, unknown> = {};
  for (const field of (wait.fields ?? []) as FormField[]) {
    const hints = [
      field.type ?? 'string',
      field.required ? 'required' : undefined,
      field.enum ? field.enum.join('/') : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    const fallback = field.default === undefined ? '' : ` [${JSON.stringify(field.default)}]`;
    for (;;) {
      const raw = (await terminal.ask(`  ${field.label ?? field.key} (${hints})${fallback}: `)).trim();
      const value = raw === '' ? undefined : typed(field.type, raw);
      const checked = checkFormAnswer([field], value === undefined ? {} : { [field.key]: value });
      if ('issues' in checked) {
        for (const issue of checked.issues) terminal.err(`  ${paint(terminal, 'red', issue.message)}`);
        continue;
      }
      if (value !== undefined) inputs[field.key] = value;
      break;
    }
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
