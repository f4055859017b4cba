/**
 * The README's "A 60-second tour" is true: its shell commands, taken from the README itself, run
 * against a server started as `npm start` starts it (on a free port), and each one succeeds.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const exec = promisify(execFile);

let server: ServerProcess;
let url: string;

beforeAll(async () => {
  server = await startServerProcess();
  url = server.url;
}, 60_000);

afterAll(async () => {
  await server?.stop();
});

/** The commands of the fenced ```sh blocks in the tour section, continuation lines joined. */
async function tourCommands(): Promise<string[]> {
  const readme = await readFile('README.md', 'utf8');
  const section = /^## A 60-second tour\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "A 60-second tour" section');
  const commands: string[] = [];
  for (const block of section.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const joined = block[1]!.replace(/\\\n\s*/g, '');
    for (const line of joined.split('\n')) if (line.trim() !== '') commands.push(line.trim());
  }
  return commands;
}

async function run(id: string): Promise<{ status: string; updated_at: string }> {
  return (await (await fetch(`${url}/v1/executions/${id}`)).json()) as { status: string; updated_at: string };
}

/**
 * Waits until the run has done what it can on its own (a person reading the README is not that
 * fast): not queued or running, and unchanged for a moment, so an answer just sent has been applied.
 */
async function settled(id: string) {
  let last = '';
  for (let i = 0; i < 200; i++) {
    const now = await run(id);
    const mark = `${now.status} ${now.updated_at}`;
    if (!['queued', 'running'].includes(now.status) && mark === last) return;
    last = mark;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`run ${id} did not settle`);
}

describe("the README's 60-second tour", () => {
  it('has the commands a newcomer is told to run', async () => {
    const commands = await tourCommands();
    expect(commands[0]).toBe('npm start');
    expect(commands.some((c) => c.startsWith('curl') && c.includes('/resume'))).toBe(true);
    expect(commands).toContain('npx flowrunner logs <run_id> --follow');
    expect(commands.some((c) => /flowrunner resume <run_id> --approve --approver/.test(c))).toBe(true);
  });

  it('runs every command of the tour successfully against the server', async () => {
    const commands = await tourCommands();
    let runId: string | undefined;
    const finished: Record<string, string> = {};
    for (const command of commands) {
      if (command === 'npm start') continue; // the server is already running, started as npm start does
      if (command.includes('<run_id>')) {
        expect(runId, `no run started before: ${command}`).toBeDefined();
        await settled(runId!);
      }
      const line = command.replaceAll('http://127.0.0.1:3000', url).replaceAll('<run_id>', runId ?? '');
      const { stdout } = await exec('bash', ['-c', line], {
        env: { ...process.env, FLOWRUNNER_URL: url, NO_COLOR: '1' },
        timeout: 60_000,
      }).catch((error: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`'${command}' failed: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      });
      // curl succeeds on any HTTP status: an answer from the server must not be a problem.
      if (command.startsWith('curl')) {
        const body = JSON.parse(stdout) as { id?: string; status?: unknown; title?: string };
        expect(typeof body.status === 'number' ? `${body.status} ${body.title}` : 'ok', command).toBe('ok');
        if (/\/v1\/executions -H/.test(command) && typeof body.id === 'string') runId = body.id;
      }
      if (command.includes('logs <run_id> --follow')) {
        expect(stdout.trim().split('\n').at(-1)).toMatch(/run\.completed/);
        finished[runId!] = (await run(runId!)).status;
      }
    }
    // The followed review-loop run completed; the onboarding run got its form and approval answered.
    expect(Object.values(finished)).toEqual(['completed']);
    const history = await fetch(`${url}/v1/executions/${runId}/history`);
    const steps = (await history.json()) as Array<{ step_id: string; status: string }>;
    const done = steps.filter((s) => s.status === 'completed').map((s) => s.step_id);
    expect(done).toEqual(expect.arrayContaining(['collect', 'draft', 'review']));
  }, 180_000);
});
