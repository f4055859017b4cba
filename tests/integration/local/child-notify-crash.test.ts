/**
 * A child run whose last Advance dies after its final commit and before its parent is told: the
 * next start advances it again (it was in flight), and the parent hears of its end. Before, the
 * parent waited for ever: only runs that had not ended were picked up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { hasEnded, startLocalRuntime, until } from '../../support/local-runtime.js';
import { runNodeChild } from '../../support/node-child.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

describe('a child run that ended as the process died', () => {
  it('tells its waiting parent on the next start', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'flowrunner-notify-'));
    try {
      const died = await runNodeChild(['--import', 'tsx', join(here, 'notify-crash-child.ts'), dataDir], {
        cwd: root,
      });
      expect(died.signal).toBe('SIGKILL');
      const parentId = (JSON.parse(died.stdout.split('\n')[0]!) as { parent: string }).parent;

      const second = await startLocalRuntime({ dataDir });
      try {
        const parent = await until(second.runtime, parentId, hasEnded, { timeoutMs: 30_000 });
        expect(parent.status).toBe('completed');
        expect(parent.output).toBe('done by the child');
        expect(second.failures).toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
