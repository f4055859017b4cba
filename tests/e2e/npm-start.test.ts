/**
 * `npm start` under a process manager: SIGTERM or SIGINT sent to the npm process (not to its group)
 * stops the server — no node process is left behind serving the port — and npm exits 0. A server
 * that cannot start says why in one line and exits 1.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { alive } from '../../shared/storage/local/data-dir-lock.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowrunner-npm-start-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function exited(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} still runs after ${ms} ms`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

/** Every process under pid, from /proc (Linux). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(parent, [...(children.get(parent) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

async function npmStart(env: Record<string, string>) {
  const child = spawn('npm', ['start'], {
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cleanups.push(async () => {
    for (const pid of [child.pid!, ...descendants(child.pid!)]) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    out += text;
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    err += text;
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`npm start exited (${code}) before listening: ${out}${err}`)),
    );
  });
  return { child, url, output: () => out + err };
}

describe('npm start', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'stops the server when the npm process alone gets %s',
    async (signal) => {
      const { child, url, output } = await npmStart({
        PORT: '0',
        FLOWRUNNER_S3_PORT: '0',
        FLOWRUNNER_DATA_DIR: await dataDir(),
      });
      const port = Number(new URL(url).port);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const tree = descendants(child.pid!);
      expect(tree.length).toBeGreaterThan(0);

      child.kill(signal);
      expect(await exited(child, 15_000)).toEqual({ code: 0, signal: null });

      const stillThere = tree.filter(alive);
      expect(stillThere, `left running after npm exited:\n${output()}`).toEqual([]);
      expect(await refused(port)).toBe(true);
      expect(output()).toMatch(/Stopping/);
    },
    60_000,
  );

  it('says in one line why it cannot start, and exits 1', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as { port: number }).port;

    const child = spawn(process.execPath, ['bin/server.mjs'], {
      env: {
        ...process.env,
        NO_COLOR: '1',
        PORT: String(port),
        FLOWRUNNER_S3_PORT: '0',
        FLOWRUNNER_DATA_DIR: await dataDir(),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      err += text;
    });
    expect(await exited(child, 30_000)).toEqual({ code: 1, signal: null });
    expect(err.trim().split('\n').at(-1)).toMatch(/^flowrunner: cannot start: .*EADDRINUSE/);
    expect(err).not.toMatch(/^\s+at /m); // no stack trace
  }, 60_000);
});
