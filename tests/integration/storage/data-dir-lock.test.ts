/** One process per data directory: a second one is told who holds it; a lock left by a dead process is taken over. */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../shared/errors.js';
import { alive } from '../../../shared/storage/local/data-dir-lock.js';
import { startLocalStores } from '../../../shared/storage/local/stores.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function dataDir() {
  const dir = await mkdtemp(join(tmpdir(), 'flowrunner-lock-'));
  dirs.push(dir);
  return dir;
}

describe('the data directory lock', () => {
  it('refuses a data directory another live process holds, with one clear message', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, 'server.lock'), String(process.ppid));
    const refused = await startLocalStores({ dataDir: dir }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect((refused as Error).message).toContain(`pid ${process.ppid}`);
  });

  it('takes over a lock left by a process that is gone, and releases it on close', async () => {
    const dir = await dataDir();
    await writeFile(join(dir, 'server.lock'), '2147483646');
    const local = await startLocalStores({ dataDir: dir });
    expect(await readFile(join(dir, 'server.lock'), 'utf8')).toBe(String(process.pid));
    await local.close();
    await expect(readFile(join(dir, 'server.lock'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.runIf(process.platform === 'linux')(
    'takes over a lock whose process was killed but not reaped (a zombie)',
    async () => {
      // A shell starts a child, prints its pid and becomes `sleep` (exec), which never reaps it:
      // killed, the child stays in the process table as a zombie, as a server killed with kill -9
      // does under a parent that does not wait for it.
      const parent = spawn('sh', ['-c', 'sleep 60 & echo $!; exec sleep 60'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      try {
        const pid = Number(
          await new Promise<string>((resolve) =>
            parent.stdout!.once('data', (data) => resolve(String(data))),
          ),
        );
        process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 100; i++) {
          const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
          if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(() => process.kill(pid, 0)).not.toThrow();
        expect(alive(pid)).toBe(false);

        const dir = await dataDir();
        await writeFile(join(dir, 'server.lock'), String(pid));
        const local = await startLocalStores({ dataDir: dir });
        expect(await readFile(join(dir, 'server.lock'), 'utf8')).toBe(String(process.pid));
        await local.close();
      } finally {
        parent.kill('SIGKILL');
      }
    },
  );
});
