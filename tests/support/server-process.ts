/**
 * Servers for tests, each on a free port and a fresh data directory: `npm start` as a child process
 * (end-to-end tests), the same server in this process (faster, for the CLI), and fakes on loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalServer, LocalServerOptions } from '../../infra/local/server.js';
import { startedForFile } from './cleanup.js';

export interface TestServer {
  url: string;
  dataDir: string;
  /** Stops the server if it still runs and removes its data. */
  stop(): Promise<void>;
}

export interface ServerProcess extends TestServer {
  child: ChildProcess;
}

export async function startServerProcess(env: Record<string, string> = {}): Promise<ServerProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-e2e-'));
  const child = spawn(process.execPath, ['bin/server.mjs'], {
    env: {
      ...process.env,
      PORT: '0',
      FLOWRUNNER_S3_PORT: '0',
      FLOWRUNNER_DATA_DIR: dataDir,
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Piped, so that a test can read it too, and passed on as it comes.
  child.stderr!.setEncoding('utf8').on('data', (text: string) => process.stderr.write(text));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it listened: ${out}`)));
  });
  return {
    url,
    child,
    dataDir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export interface InProcessServer extends TestServer {
  server: LocalServer;
}

/**
 * The local server in this process, with the process's environment and `env` over it. `options`
 * go to startLocalServer over the defaults: a free port and the examples loaded (`examplesDir:
 * undefined` loads none).
 */
export async function startServerInProcess(
  env: Record<string, string> = {},
  options: Partial<Omit<LocalServerOptions, 'dataDir' | 'env'>> = {},
): Promise<InProcessServer> {
  // Imported here, not above: the end-to-end tests, which only spawn, need not load the whole server.
  const { startLocalServer } = await import('../../infra/local/server.js');
  const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-server-'));
  const server = await startLocalServer({
    port: 0,
    examplesDir: fileURLToPath(new URL('../../examples/', import.meta.url)),
    ...options,
    dataDir,
    env: { ...process.env, ...env },
  }).catch(async (error: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    url: server.url,
    dataDir,
    server,
    async stop() {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A server for a test file: started before its tests, stopped after them. */
export function useServer<S extends TestServer>(
  start: () => Promise<S>,
): { readonly current: S; readonly url: string } {
  const current = startedForFile(start, (server) => server.stop(), 'the server');
  return {
    get current() {
      return current();
    },
    get url() {
      return current().url;
    },
  };
}

/** Starts `server` on a free loopback port; its URL, without a trailing slash. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
