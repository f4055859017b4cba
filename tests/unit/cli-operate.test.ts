/** The everyday commands against a real local server: workflows, runs, controls, redrive and rerun. */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/commands.js';
import { main } from '../../cli/main.js';
import { sinceTime } from '../../cli/operate.js';
import { markdownReference } from '../../cli/spec.js';
import { pollUntil } from '../support/poll.js';
import { listenOnLoopback, startServerInProcess, useServer } from '../support/server-process.js';
import { fakeTerminal } from '../support/terminal.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const server = useServer(() => startServerInProcess({ FLOWRUNNER_API_KEYS: '', LOG_LEVEL: 'SILENT' }));

async function cli(...args: string[]) {
  const t = fakeTerminal();
  const code = await main([...args, '--url', server.url], t.terminal);
  return { code, out: t.out.join('\n'), err: t.err.join('\n') };
}

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line));

/** A dependency that answers 503 until `up`. */
let up = false;
const dependency = createServer((_request, response) => {
  response.writeHead(up ? 200 : 503, { 'content-type': 'application/json' });
  response.end('{}');
});
let dependencyUrl = '';
beforeAll(async () => {
  dependencyUrl = await listenOnLoopback(dependency);
});
afterAll(() => new Promise<void>((resolve) => dependency.close(() => resolve())));

async function writeWorkflow(dir: string, name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

const charge = (id: string, extra = '') => `schema_version: "1.0"
id: ${id}
${extra}steps:
  - id: charge
    type: api_call
    config: { method: POST, url: "${dependencyUrl}/charge" }
`;

/** Waits until the run is in `wanted` (15 s at most) and says so. */
async function statusOf(id: string, wanted: string): Promise<string> {
  return pollUntil(
    async () => (JSON.parse((await cli('status', id, '--json')).out) as { status: string }).status,
    (s) => s === wanted,
    (s) => `still ${s}, not ${wanted}`,
    { timeoutMs: 15_000, intervalMs: 50 },
  );
}

describe('flowrunner workflows', () => {
  it('applies files: creates, reports unchanged, adds a version; an invalid file applies nothing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowrunner-apply-'));
    const a = await writeWorkflow(dir, 'a.yaml', charge('apply-a'));
    const b = await writeWorkflow(dir, 'b.yaml', charge('apply-b'));
    const first = await cli('workflows', 'apply', a, b);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`+ apply-a v1 created (${a})`);
    expect(first.out).toContain(`+ apply-b v1 created (${b})`);

    await writeFile(b, charge('apply-b', 'description: now described\n'));
    const second = await cli('workflows', 'apply', a, b, '--json');
    expect(second.code).toBe(0);
    expect(jsonLines(second.out)).toEqual([
      { file: a, id: 'apply-a', change: 'unchanged', version: 1, previous: 1 },
      { file: b, id: 'apply-b', change: 'updated', version: 2, previous: 1 },
    ]);

    const broken = await writeWorkflow(dir, 'broken.yaml', `${charge('apply-c')}    next: nowhere\n`);
    const refused = await cli('workflows', 'apply', a, broken);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/broken\.yaml:\d+:\d+ {2}steps\[0\]\.next/);
    expect(refused.err).toContain('Nothing was applied');
    expect((await cli('workflows', 'get', 'apply-c')).code).toBe(1);
  });

  it('lists, gets (YAML, or JSON), lists versions, and retires', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowrunner-wf-'));
    const file = await writeWorkflow(dir, 'w.yaml', charge('listed'));
    await cli('workflows', 'apply', file);
    await writeFile(file, charge('listed', 'name: Listed\n'));
    await cli('workflows', 'apply', file);

    const list = await cli('workflows', 'list', '--json');
    expect(list.code).toBe(0);
    expect(jsonLines(list.out).find((w) => w.id === 'listed')).toMatchObject({
      id: 'listed',
      latest_version: 2,
    });

    const yaml = await cli('workflows', 'get', 'listed', '--version', '1');
    expect(yaml.code).toBe(0);
    expect(yaml.out).toMatch(/^# listed v1, created /);
    expect(yaml.out).toContain('id: listed');
    expect(yaml.out).not.toContain('name: Listed');
    expect(JSON.parse((await cli('workflows', 'get', 'listed', '--json')).out).definition.name).toBe(
      'Listed',
    );
    expect((await cli('workflows', 'get', 'listed', '--version', 'two')).code).toBe(2);

    const versions = jsonLines((await cli('workflows', 'versions', 'listed', '--json')).out);
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
    expect(versions[0].content_hash).toMatch(/^[0-9a-f]{64}$/);

    const retired = await cli('workflows', 'retire', 'listed');
    expect(retired.code).toBe(0);
    expect(
      jsonLines((await cli('workflows', 'list', '--json')).out).find((w) => w.id === 'listed').retired,
    ).toBe(true);
    const start = await cli('start', 'listed');
    expect(start.code).toBe(1);
    expect(start.err).toMatch(/^409 .*retired/);
  });

  it('lists when a group is given without a verb, and refuses unknown verbs', async () => {
    const t = fakeTerminal();
    expect(await main(['workflows', '--url', server.url, '--json'], t.terminal)).toBe(0);
    expect(jsonLines(t.out.join('\n')).length).toBeGreaterThan(0);
    const u = fakeTerminal();
    expect(await main(['workflows', 'destroy'], u.terminal)).toBe(2);
    expect(u.err.join('\n')).toContain('needs one of: workflows list, workflows get, workflows apply');
    expect(u.err.join('\n')).toContain("(not 'destroy')");
  });
});

describe('flowrunner runs and controls', () => {
  it('lists runs filtered by workflow and status, as text and as JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowrunner-runs-'));
    await cli('workflows', 'apply', await writeWorkflow(dir, 'l.yaml', charge('listing')));
    up = true;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      ids.push(JSON.parse((await cli('start', 'listing', '--json')).out).id);
    }
    for (const id of ids) expect(await statusOf(id, 'completed')).toBe('completed');
    const listed = jsonLines((await cli('runs', 'list', '--workflow', 'listing', '--json')).out);
    expect(listed.map((r) => r.id)).toEqual([...ids].reverse());
    const limited = jsonLines(
      (await cli('runs', 'list', '--workflow', 'listing', '--limit', '2', '--json')).out,
    );
    expect(limited).toHaveLength(2);
    expect(
      jsonLines((await cli('runs', 'list', '--workflow', 'listing', '--status', 'failed', '--json')).out),
    ).toEqual([]);
    const recent = jsonLines(
      (await cli('runs', 'list', '--workflow', 'listing', '--since', '10m', '--json')).out,
    );
    expect(recent).toHaveLength(3);
    const text = await cli('runs', 'list', '--workflow', 'listing');
    expect(text.out.split('\n')[0]).toMatch(new RegExp(`^${ids[2]} {2}listing v1 +completed`));
    expect((await cli('runs', 'list', '--since', 'yesterday')).code).toBe(2);
    expect((await cli('runs', 'list', '--status', 'sleeping')).code).toBe(1);
  });

  it('fails, shows exit 4 in status, redrives once the cause is fixed, and reruns with other inputs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowrunner-redrive-'));
    await cli('workflows', 'apply', await writeWorkflow(dir, 'r.yaml', charge('recover')));
    up = false;
    const id = JSON.parse((await cli('start', 'recover', '--json')).out).id as string;
    expect(await statusOf(id, 'failed')).toBe('failed');
    const status = await cli('status', id);
    expect(status.code).toBe(4);
    expect(status.out).toMatch(/failed/);

    up = true;
    const redriven = await cli('redrive', id, '--by', 'ops');
    expect(redriven).toMatchObject({ code: 0, out: `✔ redriven ${id}` });
    expect(await statusOf(id, 'completed')).toBe('completed');
    expect((await cli('status', id)).out).toContain('redriven: 1 time(s)');
    const again = await cli('redrive', id);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^409 .*completed run cannot be redriven/);

    const rerun = await cli('rerun', id, '--json');
    expect(rerun.code).toBe(0);
    const rerunId = JSON.parse(rerun.out).id as string;
    expect(JSON.parse(rerun.out).rerun_of).toBe(id);
    expect(await statusOf(rerunId, 'completed')).toBe('completed');
    expect((await cli('rerun', id, '--input', '{broken')).code).toBe(2);
    expect((await cli('rerun', id, '--version', '0')).code).toBe(2);
  });

  it('pauses, unpauses and cancels with a reason', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flowrunner-control-'));
    const waits =
      'schema_version: "1.0"\nid: held\nsteps:\n  - { id: ask, type: form, config: { fields: [{ key: x }] } }\n';
    await cli('workflows', 'apply', await writeWorkflow(dir, 'h.yaml', waits));
    const id = JSON.parse((await cli('start', 'held', '--json')).out).id as string;
    expect(await statusOf(id, 'waiting')).toBe('waiting');
    expect((await cli('pause', id, '--by', 'ops')).code).toBe(0);
    expect(await statusOf(id, 'paused')).toBe('paused');
    expect((await cli('pause', id)).code).toBe(1);
    expect((await cli('unpause', id)).code).toBe(0);
    expect(await statusOf(id, 'waiting')).toBe('waiting');
    const canceled = await cli('cancel', id, '--reason', 'Customer left');
    expect(canceled.code).toBe(0);
    expect(await statusOf(id, 'canceled')).toBe('canceled');
    const shown = JSON.parse((await cli('status', id, '--json')).out);
    expect(shown.error.message).toBe('Customer left');
    expect((await cli('status', id)).code).toBe(4);
  });
});

describe('flowrunner run with a child workflow that waits for a person', () => {
  async function parentAndChild(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'flowrunner-child-'));
    await writeWorkflow(
      dir,
      'child.yaml',
      `schema_version: "1.0"
id: child
steps:
  - id: ask
    type: form
    config:
      fields:
        - { key: email, type: string, required: true, pattern: "^[^@ ]+@[^@ ]+$" }
        - { key: age, type: integer, min: 18 }
`,
    );
    return writeWorkflow(
      dir,
      'parent.yaml',
      `schema_version: "1.0"
id: parent
steps:
  - { id: call, type: workflow, config: { workflow_id: child } }
`,
    );
  }

  it('exits 3 without a terminal, naming the child run and its form, instead of waiting forever', async () => {
    const t = fakeTerminal();
    const code = await main(['run', await parentAndChild()], t.terminal);
    expect(code).toBe(3);
    expect(t.err.join('\n')).toMatch(/waits for form 'ask' of child run run_\S+; run it on a terminal/);
  });

  it('asks for the child form on a terminal, checking each field as it is typed', async () => {
    const t = fakeTerminal(['not-an-email', 'ada@example.com', '12', '40'], true);
    const code = await main(['run', await parentAndChild()], t.terminal);
    expect(code).toBe(0);
    // Each field is asked again right after a bad value, not after the whole form.
    expect(t.asked.map((q) => q.trim().split(' ')[0])).toEqual(['email', 'email', 'age', 'age']);
    expect(t.err.join('\n')).toMatch(/email/);
    expect(JSON.parse(t.out.join('\n'))).toEqual({ email: 'ada@example.com', age: 40 });
  });

  it('asks in a real pseudo-terminal (util-linux script), field by field, and prints the output', async () => {
    const parent = await parentAndChild();
    const bin = new URL('../../bin/flowrunner.mjs', import.meta.url).pathname;
    const child = spawn('script', ['-qfec', `node ${bin} run ${parent}`, '/dev/null'], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    // Each answer is typed once its prompt has appeared, as a person would.
    const answers = ['nobody', 'ada@example.com', '40'];
    let answered = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const prompts = output.match(/\((?:string|integer)[^)]*\): /g)?.length ?? 0;
      while (answered < prompts && answered < answers.length) child.stdin.write(`${answers[answered++]}\r`);
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(output).toContain('"email": "ada@example.com"');
    // The bad value is refused at once, and the same field asked again before the next one.
    expect(output).toMatch(/nobody\r*\n {2}email is not in the expected format[^\n]*\n[^\n]*email \(string/);
    expect(code).toBe(0);
  }, 30_000);
});

describe('the CLI reference and completions', () => {
  it('docs/cli.md is the reference generated from the command definitions', async () => {
    const written = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    expect(written, 'docs/cli.md is stale: run `npm run docs:cli`').toBe(markdownReference(COMMANDS));
  });

  it('completes commands, verbs and options in bash', async () => {
    const t = fakeTerminal();
    expect(await main(['completion', 'bash'], t.terminal)).toBe(0);
    const script = t.out.join('\n');
    const complete = async (...words: string[]) => {
      const line = `${script}\nCOMP_WORDS=(flowrunner ${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length}; _flowrunner; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const { stdout } = await promisify(execFile)('bash', ['-c', line]);
      return stdout.split('\n').filter(Boolean);
    };
    expect(await complete('wo')).toEqual(['workflows']);
    expect(await complete('workflows', 'a')).toEqual(['apply']);
    expect(await complete('runs', 'list', '--st')).toEqual(['--status']);
    expect(await complete('redrive', 'run_1', '--')).toEqual(
      expect.arrayContaining(['--by', '--url', '--json']),
    );
  });

  it('writes a zsh completion function that names every command', async () => {
    const t = fakeTerminal();
    expect(await main(['completion', 'zsh'], t.terminal)).toBe(0);
    const script = t.out.join('\n');
    expect(script.startsWith('#compdef flowrunner')).toBe(true);
    for (const c of COMMANDS) expect(script).toContain(`"${c.name}")`);
    const u = fakeTerminal();
    expect(await main(['completion', 'fish'], u.terminal)).toBe(2);
  });

  it('reads --since as a time or a duration back from now', () => {
    const now = new Date('2026-03-01T12:00:00Z');
    expect(sinceTime('15m', now)).toBe('2026-03-01T11:45:00.000Z');
    expect(sinceTime('7d', now)).toBe('2026-02-22T12:00:00.000Z');
    expect(sinceTime('2026-02-01T00:00:00+01:00', now)).toBe('2026-01-31T23:00:00.000Z');
    expect(sinceTime('soon', now)).toBeUndefined();
    expect(sinceTime('12', now)).toBeUndefined();
  });
});
