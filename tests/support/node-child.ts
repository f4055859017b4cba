/**
 * A Node child process for a test that must measure or break something apart from the test runner
 * (memory after collections, a process that may die): run to its end, with what it printed.
 */
import { spawn } from 'node:child_process';

export interface ChildOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` in `cwd` and resolves when it has exited. `onStart` is told the process (to
 * kill it from a cleanup, should the test end first).
 */
export function runNodeChild(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; onStart?: (kill: () => void) => void },
): Promise<ChildOutcome> {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    ...(options.env ? { env: options.env } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onStart?.(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}
