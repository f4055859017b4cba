/**
 * Everyday operations against a server: list runs, act on one (cancel, pause, unpause, redrive,
 * rerun), and manage workflows (list, get, apply files, versions, retire).
 */
import { readFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { validateWorkflow } from '../shared/definition/validate.js';
import { call, id, parseJson, printRun, type RunView, type ServerOptions } from './remote.js';
import { paint, type Terminal } from './terminal.js';

// ── runs ─────────────────────────────────────────────────────────────────────────────────────────

interface RunSummary {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: string;
  created_at: string;
  updated_at: string;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO-8601 time, or a duration back from now (`90s`, `15m`, `2h`, `7d`). */
export function sinceTime(raw: string, now: Date): string | undefined {
  const relative = /^(\d{1,6})([smhd])$/.exec(raw.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS[relative[2]!]!).toISOString();
  const time = Date.parse(raw);
  return Number.isNaN(time) || !/\d{4}-\d{2}-\d{2}/.test(raw) ? undefined : new Date(time).toISOString();
}

export async function runsListCommand(
  terminal: Terminal,
  server: ServerOptions,
  options: { status?: string; workflow?: string; since?: string; limit?: string },
  now: Date = new Date(),
): Promise<number> {
  const query = new URLSearchParams();
  if (options.status) query.set('status', options.status);
  if (options.workflow) query.set('workflow_id', options.workflow);
  if (options.since !== undefined) {
    const after = sinceTime(options.since, now);
    if (after === undefined) {
      terminal.err(
        `--since '${options.since}' is neither a time (2026-01-31T09:00:00Z) nor a duration (15m, 2h, 7d).`,
      );
      return 2;
    }
    query.set('created_after', after);
  }
  const limit = options.limit === undefined ? 25 : Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    terminal.err('--limit must be a whole number from 1 to 1000.');
    return 2;
  }
  const runs: RunSummary[] = [];
  let cursor: string | null = null;
  do {
    const page = new URLSearchParams(query);
    page.set('limit', String(Math.min(100, limit - runs.length)));
    if (cursor) page.set('cursor', cursor);
    const answer = await call(terminal, server, 'GET', `/v1/executions?${page}`);
    const body = answer.body as { items: RunSummary[]; next_cursor: string | null };
    runs.push(...body.items);
    cursor = body.next_cursor;
  } while (cursor && runs.length < limit);
  if (server.json) {
    for (const run of runs) terminal.out(JSON.stringify(run));
    return 0;
  }
  if (runs.length === 0) {
    terminal.out(paint(terminal, 'dim', 'No runs.'));
    return 0;
  }
  for (const run of runs) {
    terminal.out(
      `${run.id}  ${`${run.workflow_id} v${run.workflow_version}`.padEnd(24)}  ${run.status.padEnd(9)}  ${run.created_at}`,
    );
  }
  if (cursor) terminal.out(paint(terminal, 'dim', `(more: raise --limit, now ${limit})`));
  return 0;
}

type Control = 'cancel' | 'pause' | 'unpause' | 'redrive';

const DONE: Record<Control, string> = {
  cancel: 'cancel requested for',
  pause: 'paused',
  unpause: 'unpaused',
  redrive: 'redriven',
};

/** cancel, pause, unpause and redrive: one POST each, with who acts (and why, for cancel). */
export async function controlCommand(
  terminal: Terminal,
  server: ServerOptions,
  action: Control,
  runId: string,
  options: { by?: string; reason?: string },
): Promise<number> {
  const answer = await call(terminal, server, 'POST', `/v1/executions/${id(runId)}/${action}`, {
    ...(options.by ? { by: options.by } : {}),
    ...(options.reason && action === 'cancel' ? { reason: options.reason } : {}),
  });
  if (server.json) terminal.out(JSON.stringify(answer.body));
  else terminal.out(`${paint(terminal, 'green', '✔')} ${DONE[action]} ${runId}`);
  return 0;
}

export async function rerunCommand(
  terminal: Terminal,
  server: ServerOptions,
  runId: string,
  options: { input?: string; version?: string; idempotencyKey?: string },
): Promise<number> {
  const inputs = options.input === undefined ? undefined : parseJson(terminal, '--input', options.input);
  if (options.input !== undefined && inputs === undefined) return 2;
  const version = options.version === undefined ? undefined : Number(options.version);
  if (version !== undefined && (!Number.isInteger(version) || version < 1)) {
    terminal.err('--version must be a version number (1, 2, ...).');
    return 2;
  }
  const answer = await call(
    terminal,
    server,
    'POST',
    `/v1/executions/${id(runId)}/rerun`,
    { ...(inputs ? { inputs: inputs.value } : {}), ...(version ? { version } : {}) },
    options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : {},
  );
  if (server.json) terminal.out(JSON.stringify(answer.body));
  else printRun(terminal, answer.body as RunView);
  return 0;
}

// ── workflows ────────────────────────────────────────────────────────────────────────────────────

interface WorkflowSummary {
  id: string;
  latest_version: number;
  name?: string;
  updated_at: string;
  retired?: boolean;
}

interface WorkflowVersionView {
  id: string;
  version: number;
  created_at: string;
  definition: unknown;
}

/** Reads every page of a list. */
async function everyPage<T>(terminal: Terminal, server: ServerOptions, path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const answer = await call(terminal, server, 'GET', `${path}${query}`);
    const body = answer.body as { items: T[]; next_cursor: string | null };
    items.push(...body.items);
    cursor = body.next_cursor;
  } while (cursor);
  return items;
}

export async function workflowsListCommand(terminal: Terminal, server: ServerOptions): Promise<number> {
  const workflows = await everyPage<WorkflowSummary>(terminal, server, '/v1/workflows');
  if (server.json) {
    for (const w of workflows) terminal.out(JSON.stringify(w));
    return 0;
  }
  if (workflows.length === 0) terminal.out(paint(terminal, 'dim', 'No workflows.'));
  for (const w of workflows) {
    const retired = w.retired ? `  ${paint(terminal, 'yellow', 'retired')}` : '';
    terminal.out(
      `${w.id.padEnd(24)}  v${String(w.latest_version).padEnd(4)}  ${w.updated_at}${retired}${w.name ? `  ${w.name}` : ''}`,
    );
  }
  return 0;
}

export async function workflowGetCommand(
  terminal: Terminal,
  server: ServerOptions,
  workflowId: string,
  version: string | undefined,
): Promise<number> {
  if (version !== undefined && !/^[1-9]\d*$/.test(version)) {
    terminal.err('--version must be a version number (1, 2, ...).');
    return 2;
  }
  const answer = await call(
    terminal,
    server,
    'GET',
    `/v1/workflows/${id(workflowId)}${version ? `?version=${version}` : ''}`,
  );
  const found = answer.body as WorkflowVersionView;
  if (server.json) terminal.out(JSON.stringify(found));
  else {
    terminal.out(paint(terminal, 'dim', `# ${found.id} v${found.version}, created ${found.created_at}`));
    terminal.out(stringify(found.definition).trimEnd());
  }
  return 0;
}

export async function workflowVersionsCommand(
  terminal: Terminal,
  server: ServerOptions,
  workflowId: string,
): Promise<number> {
  const versions = await everyPage<{ version: number; created_at: string; content_hash: string }>(
    terminal,
    server,
    `/v1/workflows/${id(workflowId)}/versions`,
  );
  if (server.json) {
    for (const v of versions) terminal.out(JSON.stringify(v));
    return 0;
  }
  for (const v of versions)
    terminal.out(`v${String(v.version).padEnd(4)}  ${v.created_at}  ${v.content_hash.slice(0, 12)}`);
  return 0;
}

export async function workflowRetireCommand(
  terminal: Terminal,
  server: ServerOptions,
  workflowId: string,
): Promise<number> {
  await call(terminal, server, 'DELETE', `/v1/workflows/${id(workflowId)}`);
  if (server.json) terminal.out(JSON.stringify({ id: workflowId, retired: true }));
  else
    terminal.out(
      `${paint(terminal, 'green', '✔')} retired ${workflowId}: it starts no new runs; runs under way finish`,
    );
  return 0;
}

type Applied = {
  file: string;
  id: string;
  change: 'created' | 'updated' | 'unchanged';
  version: number;
  previous?: number;
};

/**
 * Creates each file's workflow, or adds a version when its content changed. Every file is checked
 * here first, with lines, and nothing is sent unless all are valid.
 */
export async function workflowsApplyCommand(
  terminal: Terminal,
  server: ServerOptions,
  files: readonly string[],
): Promise<number> {
  const checked = [];
  let invalid = false;
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const result = validateWorkflow(text, file.endsWith('.json') ? { format: 'json' } : {});
    if (!result.valid || !result.workflow) {
      invalid = true;
      for (const e of result.errors)
        terminal.err(`${file}:${e.line ?? 1}:${e.column ?? 1}  ${e.path}: ${e.message}`);
      continue;
    }
    checked.push({ file, text, workflowId: result.workflow.id, json: file.endsWith('.json') });
  }
  if (invalid) {
    terminal.err('Nothing was applied: fix the files above first.');
    return 1;
  }
  const applied: Applied[] = [];
  for (const { file, text, workflowId, json } of checked) {
    const headers = { 'content-type': json ? 'application/json' : 'text/yaml' };
    const current = await call(
      terminal,
      server,
      'GET',
      `/v1/workflows/${id(workflowId)}`,
      undefined,
      {},
      [404],
    );
    if (current.status === 404) {
      const created = await call(terminal, server, 'POST', '/v1/workflows', text, headers);
      const version = (created.body as WorkflowVersionView).version;
      applied.push({ file, id: workflowId, change: 'created', version });
      continue;
    }
    const previous = (current.body as WorkflowVersionView).version;
    const updated = await call(terminal, server, 'PUT', `/v1/workflows/${id(workflowId)}`, text, headers);
    const version = (updated.body as WorkflowVersionView).version;
    applied.push({
      file,
      id: workflowId,
      change: version === previous ? 'unchanged' : 'updated',
      version,
      previous,
    });
  }
  for (const a of applied) {
    if (server.json) terminal.out(JSON.stringify(a));
    else if (a.change === 'unchanged')
      terminal.out(paint(terminal, 'dim', `= ${a.id} v${a.version} unchanged (${a.file})`));
    else if (a.change === 'created')
      terminal.out(`${paint(terminal, 'green', '+')} ${a.id} v${a.version} created (${a.file})`);
    else terminal.out(`${paint(terminal, 'yellow', '~')} ${a.id} v${a.previous} → v${a.version} (${a.file})`);
  }
  return 0;
}
