/** One process per data directory: a second one is told who holds it; a lock left by a dead process is taken over. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../shared/errors.js';
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
});
