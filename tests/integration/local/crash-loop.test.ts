/**
 * A run that takes the process down is not advanced for ever: after MAX_CRASHES deaths in a row
 * while advancing it, the next start fails the run (RunCrashedHost) and the server stays up.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_CRASHES } from '../../../infra/local/crash-guard.js';

/** Runs the child to its end; what it printed, one JSON object a line, and how it ended. */
function child(dataDir: string, mode?: string) {
  return new Promise<{ lines: Array<Record<string, unknown>>; signal: NodeJS.Signals | null }>((resolve) => {
    const process_ = spawn(
      process.execPath,
      ['--import', 'tsx', 'tests/integration/local/crash-loop-child.ts', dataDir, ...(mode ? [mode] : [])],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );
    let out = '';
    process_.stdout.setEncoding('utf8').on('data', (text: string) => {
      out += text;
    });
    process_.once('exit', (_code, signal) =>
      resolve({
        lines: out
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line) as Record<string, unknown>),
        signal,
      }),
    );
  });
}

describe('a run that crashes the local runtime', () => {
  it(`is failed after ${MAX_CRASHES} crashes in a row, and the runtime comes up`, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-crash-loop-'));
    try {
      const deaths: Array<NodeJS.Signals | null> = [];
      deaths.push((await child(dataDir, 'start')).signal);
      for (let i = 1; i < MAX_CRASHES; i++) deaths.push((await child(dataDir)).signal);
      expect(deaths).toEqual(Array(MAX_CRASHES).fill('SIGKILL'));

      const last = await child(dataDir);
      expect(last.signal).toBeNull();
      expect(last.lines).toContainEqual({ up: true });
      expect(last.lines).toContainEqual({
        status: 'failed',
        error: expect.objectContaining({ code: 'RunCrashedHost' }),
      });
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
