/** The crash guard's log: what a process that died leaves, read by the next start. */
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CrashGuard, MAX_CRASHES } from '../../../infra/local/crash-guard.js';

const dirs: string[] = [];
const dataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowrunner-guard-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A process that dies in the middle of advancing `runId`: the mark is written, its undo never is. */
async function dieWhileAdvancing(dir: string, runId: string) {
  const guard = CrashGuard.open(dir);
  await guard
    .around(runId, async () => {
      await guard.around('run_fine', async () => {});
      guard.close();
      throw new Error('killed');
    })
    .catch(() => {});
}

describe('CrashGuard', () => {
  it('counts deaths in a row per run and aborts a run after MAX_CRASHES, not before', async () => {
    const dir = dataDir();
    for (let i = 1; i <= MAX_CRASHES; i++) {
      const guard = CrashGuard.open(dir);
      expect(guard.toAbort()).toEqual([]);
      guard.close();
      // The mark is on disk before the Advance runs; the process "dies" with it in flight.
      appendFileSync(join(dir, 'advancing.log'), '+run_bad\n');
    }
    const guard = CrashGuard.open(dir);
    expect(guard.toAbort().map((a) => a.runId)).toEqual(['run_bad']);
    // A normal end clears the count.
    await guard.around('run_bad', async () => {});
    guard.close();
    const next = CrashGuard.open(dir);
    expect(next.toAbort()).toEqual([]);
    next.close();
  });

  it("writes one short line per mark, ignores a line cut short, and reads an earlier version's file", async () => {
    const dir = dataDir();
    writeFileSync(
      join(dir, 'advancing.json'),
      JSON.stringify({ in_flight: { run_old: 1 }, crashes: { run_old: 2 } }),
    );
    const guard = CrashGuard.open(dir);
    expect(guard.toAbort().map((a) => a.runId)).toEqual(['run_old']);
    const before = statSync(join(dir, 'advancing.log')).size;
    await guard.around('run_a', async () => {});
    expect(statSync(join(dir, 'advancing.log')).size - before).toBe('+run_a\n-run_a\n'.length);
    guard.close();
    appendFileSync(join(dir, 'advancing.log'), '+run_cu');
    const again = CrashGuard.open(dir);
    expect(again.toAbort().map((a) => a.runId)).toEqual(['run_old']);
    expect(readFileSync(join(dir, 'advancing.log'), 'utf8')).toBe('!run_old 3\n?run_old\n');
    again.close();
  });

  it('keeps counting across a process that died with other runs going fine', async () => {
    const dir = dataDir();
    await dieWhileAdvancing(dir, 'run_x');
    const guard = CrashGuard.open(dir);
    expect(readFileSync(join(dir, 'advancing.log'), 'utf8')).toBe('!run_x 1\n?run_x\n');
    guard.close();
  });

  it('counts no crash for what was in flight when the process was stopping, and still lists it to advance again', async () => {
    const dir = dataDir();
    const guard = CrashGuard.open(dir);
    guard.close();
    // A stop: `~`, then a forced exit with two Advances under way.
    appendFileSync(join(dir, 'advancing.log'), '+run_slow\n~\n+run_late\n');
    for (let restart = 1; restart <= MAX_CRASHES; restart++) {
      const next = CrashGuard.open(dir);
      // Not advanced since: still to be advanced again, start after start.
      expect(next.interrupted()).toEqual(['run_slow', 'run_late']);
      expect(next.toAbort()).toEqual([]);
      next.close();
      appendFileSync(join(dir, 'advancing.log'), '+run_slow\n~\n');
    }
    expect(readFileSync(join(dir, 'advancing.log'), 'utf8')).not.toContain('!');
  });

  it('advances a run found in flight after a death alone, so that the next death is its own', async () => {
    const dir = dataDir();
    CrashGuard.open(dir).close();
    appendFileSync(join(dir, 'advancing.log'), '+run_suspect\n+run_bystander\n');
    const guard = CrashGuard.open(dir);
    expect(guard.interrupted()).toEqual(['run_suspect', 'run_bystander']);
    const log: string[] = [];
    const advance = (runId: string, ms: number) =>
      guard.around(runId, async () => {
        log.push(`start ${runId}`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        log.push(`end ${runId}`);
      });
    // A fine run is under way when the suspects come; one more fine run comes after them.
    const fine = advance('run_fine', 30);
    const suspects = [advance('run_suspect', 20), advance('run_bystander', 20)];
    const after = advance('run_after', 5);
    await Promise.all([fine, ...suspects, after]);
    const alone = (runId: string) => {
      const start = log.indexOf(`start ${runId}`);
      return log[start + 1] === `end ${runId}`;
    };
    expect(alone('run_suspect')).toBe(true);
    expect(alone('run_bystander')).toBe(true);
    expect(log.slice(0, 2)).toEqual(['start run_fine', 'end run_fine']);
    // Each ended well: neither is a suspect any more.
    guard.close();
    const next = CrashGuard.open(dir);
    expect(next.interrupted()).toEqual([]);
    expect(readFileSync(join(dir, 'advancing.log'), 'utf8')).toBe('');
    next.close();
  });

  it('holds the others back for a while only, when a suspect takes long', async () => {
    const dir = dataDir();
    CrashGuard.open(dir).close();
    appendFileSync(join(dir, 'advancing.log'), '+run_slow\n');
    const guard = CrashGuard.open(dir, { aloneMs: 50 });
    const log: string[] = [];
    let finish!: () => void;
    const slow = guard.around('run_slow', async () => {
      log.push('start run_slow');
      await new Promise<void>((resolve) => {
        finish = resolve;
      });
      log.push('end run_slow');
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const other = guard.around('run_other', async () => {
      log.push('run_other');
    });
    await other;
    expect(log).toEqual(['start run_slow', 'run_other']);
    finish();
    await slow;
    guard.close();
  });

  it('keeps the stop through a compaction of the log while stopping', async () => {
    const dir = dataDir();
    const guard = CrashGuard.open(dir);
    void guard.around('run_slow', () => new Promise(() => {}));
    guard.stopping();
    // Advances that end while stopping grow the log past its compaction size.
    for (let i = 0; i < 20_000; i++) await guard.around(`run_${i}`, async () => {});
    guard.close();
    const next = CrashGuard.open(dir);
    expect(next.interrupted()).toEqual(['run_slow']);
    expect(next.toAbort()).toEqual([]);
    expect(readFileSync(join(dir, 'advancing.log'), 'utf8')).not.toContain('!run_slow');
    next.close();
  });

  it("lets every run go on once the suspects' window is over, while the first suspect still runs", async () => {
    const dir = dataDir();
    CrashGuard.open(dir).close();
    appendFileSync(join(dir, 'advancing.log'), '+run_s1\n+run_s2\n+run_s3\n');
    const guard = CrashGuard.open(dir, { aloneMs: 40 });
    const ends: (() => void)[] = [];
    const started: string[] = [];
    const hang = (runId: string) =>
      guard.around(runId, async () => {
        started.push(runId);
        await new Promise<void>((resolve) => ends.push(resolve));
      });
    const suspects = ['run_s1', 'run_s2', 'run_s3'].map(hang);
    const other = guard.around('run_other', async () => {
      started.push('run_other');
    });
    await other;
    // Past the one window, every suspect and the other run went on while the first still ran.
    expect(started.sort()).toEqual(['run_other', 'run_s1', 'run_s2', 'run_s3']);
    for (const end of ends) end();
    await Promise.all(suspects);
    guard.close();
  });

  it('keeps the runs to advance again until one of their Advances ends, across another death', async () => {
    const dir = dataDir();
    CrashGuard.open(dir).close();
    appendFileSync(join(dir, 'advancing.log'), '+run_child\n');
    // The next process dies before it gets to the run: the one after it still knows.
    CrashGuard.open(dir).close();
    const third = CrashGuard.open(dir);
    expect(third.interrupted()).toEqual(['run_child']);
    await third.around('run_child', async () => {});
    third.close();
    const fourth = CrashGuard.open(dir);
    expect(fourth.interrupted()).toEqual([]);
    fourth.close();
  });
});
