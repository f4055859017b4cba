/**
 * One process per data directory: dynalite's LevelDB refuses a second opener deep inside an
 * asynchronous callback, which crashed the second `npm start` with a stack trace. The lock file
 * (`server.lock`, the owner's pid) is taken with an exclusive create; a lock whose process is gone
 * (a kill -9, whether or not its parent reaped it yet) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError } from '../../errors.js';

export interface DataDirLock {
  release(): void;
}

export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, 'server.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return {
        release() {
          if (ownerOf(file) === process.pid) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = ownerOf(file);
      if (owner !== undefined && owner !== process.pid && alive(owner)) {
        throw new ConfigurationError(
          `Another Flowrunner process (pid ${owner}) is using the data directory ${dataDir}; stop it, or set FLOWRUNNER_DATA_DIR to another directory`,
        );
      }
      if (attempt > 0) throw error;
      rmSync(file, { force: true }); // left by a process that is gone (or by this one, not released)
    }
  }
}

function ownerOf(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a process with this pid exists (one of another user counts: EPERM) and is not a zombie:
 * a server killed with kill -9 stays in the process table until its parent reaps it, which a
 * container's init or a shell that exec'd may never do, and its lock must still be taken over.
 * Where /proc is absent (macOS), a process that exists counts as alive.
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !exited(pid);
}

/** The state in /proc/<pid>/stat, after the name in parentheses: Z (zombie) or X (dead). */
function exited(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state === 'Z' || state === 'X';
}
