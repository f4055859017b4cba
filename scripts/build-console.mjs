/**
 * Builds the web console (console/, Vite + Preact) into dist/console, which `npm start` serves at
 * /console and CDK uploads. `npm ci` builds it through `prepare` (scripts/build.mjs), and `npm start`
 * builds it again when a source under console/ is newer than the build.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const SOURCES = join(root, 'console');

/** The newest mtime under console/ (sources, config, public files). */
function newestSource(dir = SOURCES) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function consoleIsFresh(outdir) {
  const built = statSync(join(outdir, 'console', 'index.html'), { throwIfNoEntry: false });
  return built !== undefined && built.mtimeMs >= newestSource();
}

/** Builds dist/console; answers its files and their gzipped size. */
export async function buildConsole(outdir) {
  let vite;
  try {
    vite = await import('vite');
  } catch (error) {
    throw Object.assign(new Error('vite is not installed (it is a devDependency)'), {
      code: 'FLOWRUNNER_NO_VITE',
      cause: error,
    });
  }
  const out = join(outdir, 'console');
  await vite.build({
    configFile: join(SOURCES, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: out, emptyOutDir: true },
  });
  return relative(process.cwd(), out) || out;
}

/** Builds the console unless its build is fresh; true when it built. */
export async function ensureConsoleBuilt(outdir) {
  if (consoleIsFresh(outdir)) return false;
  await buildConsole(outdir);
  return true;
}
