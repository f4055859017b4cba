/**
 * Loads a program of dist/ (see scripts/build.mjs), building it first when it is missing or older
 * than the sources: the first call after a change pays the build (about a second), later calls
 * start from JavaScript. When dist/ cannot be built — no esbuild (npm ci --omit=dev), no write
 * access, or a source that does not compile — it runs the TypeScript sources through tsx instead,
 * as before: slower, but the command still runs, and a broken source fails only the command that
 * loads it.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultOutdir, ensureBuilt, entries, root } from '../scripts/build.mjs';
import { ensureConsoleBuilt } from '../scripts/build-console.mjs';

/** Reasons to fall back without a word: expected in an install without devDependencies or read-only. */
const QUIET = new Set(['FLOWRUNNER_NO_ESBUILD', 'EACCES', 'EPERM', 'EROFS']);

/** Imports dist/<name>.mjs (name: a key of `entries`) and returns the module. */
export async function load(name) {
  if (name === 'server') await consoleBuilt();
  try {
    await ensureBuilt();
  } catch (error) {
    if (!QUIET.has(error?.code)) {
      const reason = String(error?.message ?? error).split('\n')[0];
      process.stderr.write(`flowrunner: cannot build dist/ (${reason}); running the sources with tsx\n`);
    }
    const { register } = await import('tsx/esm/api');
    register();
    return import(pathToFileURL(join(root, entries[name])).href);
  }
  // Stack traces name the TypeScript sources (dist/*.mjs.map) rather than the bundle.
  process.setSourceMapsEnabled(true);
  return import(pathToFileURL(join(defaultOutdir, `${name}.mjs`)).href);
}

/**
 * The web console for `npm start`, rebuilt when its sources changed. Without Vite (an install
 * without devDependencies) the server still starts: /console then says how to build it.
 */
async function consoleBuilt() {
  try {
    await ensureConsoleBuilt(defaultOutdir);
  } catch (error) {
    if (error?.code === 'FLOWRUNNER_NO_VITE' || QUIET.has(error?.code)) return;
    process.stderr.write(
      `flowrunner: cannot build the console (${String(error?.message ?? error).split('\n')[0]})\n`,
    );
  }
}
