#!/usr/bin/env node
/**
 * Builds the `flowrunner` command and `npm start` into dist/ as plain JavaScript, so neither
 * compiles TypeScript when it starts. esbuild bundles our own sources and a few small packages
 * (BUNDLED); the other packages stay in node_modules, resolved at run time. The output is split
 * into chunks, so that a command loads only what it imports.
 *
 *   node scripts/build.mjs              build dist/ (what `npm run build` and `prepare` run)
 *   node scripts/build.mjs --if-stale   build only when dist/ is missing or older than a source
 *   node scripts/build.mjs --optional   when it cannot build (npm ci --omit=dev has no esbuild), say
 *                                       so and succeed: bin/ then builds on first use or uses tsx
 *   node scripts/build.mjs --outdir D   build into D instead of dist/
 *
 * dist/build.json lists every source the build read with its mtime and size: `isFresh` compares
 * them (~150 stat calls, a few ms), which is how bin/ decides whether to rebuild before running.
 */
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: every path in the manifest is relative to it. */
export const root = fileURLToPath(new URL('..', import.meta.url));
export const defaultOutdir = join(root, 'dist');

/** Output name (dist/<name>.mjs) → TypeScript entry point. */
export const entries = { cli: 'cli/main.ts', server: 'infra/local/main.ts' };

/**
 * Small pure-JavaScript packages the CLI loads on every workflow command, bundled in: Node reads one
 * file instead of resolving and reading hundreds (zod alone is ~100 ms of a `validate`). Every other
 * package (the AWS SDK, middy, the local stand-ins) stays in node_modules, loaded from there.
 */
const BUNDLED = new Set([
  'zod',
  'yaml',
  'ajv',
  'ajv-formats',
  'jsonata',
  'ipaddr.js',
  're2js',
  '@eslint-community/regexpp',
]);

const MANIFEST = 'build.json';
/** Bumped when the shape of the output changes, so an older dist/ is rebuilt. */
const FORMAT = 1;
/**
 * Watched besides our own sources: the build's configuration, and package-lock.json standing for
 * the files of the bundled packages (an install that changes them rewrites it).
 */
const CONFIG_INPUTS = ['scripts/build.mjs', 'package.json', 'package-lock.json', 'tsconfig.json'];

/** An error the caller can act on: `code` is FLOWRUNNER_NO_ESBUILD or FLOWRUNNER_BUILD_FAILED. */
export class BuildError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'BuildError';
    this.code = code;
  }
}

/** True when outdir holds a build of the sources as they are now. */
export function isFresh(outdir = defaultOutdir) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(outdir, MANIFEST), 'utf8'));
  } catch {
    return false;
  }
  if (manifest?.format !== FORMAT || typeof manifest.inputs !== 'object') return false;
  for (const [file, recorded] of Object.entries(manifest.inputs)) {
    const now = statSync(join(root, file), { throwIfNoEntry: false });
    if (now === undefined || now.mtimeMs !== recorded.mtimeMs || now.size !== recorded.size) return false;
  }
  return true;
}

/** Builds outdir unless it is fresh; true when it built. */
export async function ensureBuilt(outdir = defaultOutdir) {
  if (isFresh(outdir)) return false;
  await build({ outdir });
  return true;
}

/**
 * Builds every entry into outdir. Each file is written beside its place and renamed into it, the
 * entries after their chunks and the manifest last, so a command starting meanwhile (or a second
 * build racing this one) never reads half a file.
 */
export async function build({ outdir = defaultOutdir } = {}) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    throw new BuildError('FLOWRUNNER_NO_ESBUILD', 'esbuild is not installed (it is a devDependency)', {
      cause: error,
    });
  }
  const started = Date.now();
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: Object.entries(entries).map(([out, input]) => ({ in: input, out })),
      outdir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      plugins: [externalPackages],
      // For the CommonJS packages bundled in that require Node's own modules.
      banner: {
        js: "import { createRequire as __flowrunnerCreateRequire } from 'node:module'; const require = __flowrunnerCreateRequire(import.meta.url);",
      },
      outExtension: { '.js': '.mjs' },
      // Flat, beside the entries: code that finds files with new URL('../x', import.meta.url) from
      // a top-level folder (cli/invoke.ts) finds them from dist/ too.
      chunkNames: 'chunk-[hash]',
      sourcemap: 'linked',
      sourcesContent: false,
      keepNames: true,
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
  } catch (error) {
    if (!Array.isArray(error?.errors)) throw error;
    throw new BuildError('FLOWRUNNER_BUILD_FAILED', error.errors.map(describe).join('\n'), { cause: error });
  } finally {
    // esbuild's service process would otherwise live as long as the command or server that built.
    await esbuild.stop();
  }

  await mkdir(outdir, { recursive: true });
  const entryFiles = new Set(Object.keys(entries).map((name) => join(outdir, `${name}.mjs`)));
  const files = [...result.outputFiles].sort(
    (a, b) => Number(entryFiles.has(a.path)) - Number(entryFiles.has(b.path)),
  );
  for (const file of files) writeAtomically(file.path, file.contents);

  const inputs = {};
  const sources = Object.keys(result.metafile.inputs).filter((file) => !file.includes('node_modules/'));
  for (const file of [...sources, ...CONFIG_INPUTS]) {
    const stat = statSync(join(root, file), { throwIfNoEntry: false });
    if (stat === undefined) continue;
    // Changed while esbuild was reading: record no time, so that the next check rebuilds.
    inputs[file] = { mtimeMs: stat.mtimeMs >= started ? -1 : stat.mtimeMs, size: stat.size };
  }
  const outputs = files.map((file) => relative(outdir, file.path));
  writeAtomically(
    join(outdir, MANIFEST),
    `${JSON.stringify({ format: FORMAT, inputs, outputs }, null, 1)}\n`,
  );

  // Chunks of earlier builds: their names carry a hash, so nothing of this build refers to them.
  // Those of the last minute stay, in case a build racing this one wrote them.
  const kept = new Set([...outputs, MANIFEST]);
  for (const name of readdirSync(outdir)) {
    if (kept.has(name) || !/^(chunk-|cli\.|server\.).*\.mjs(\.map)?$/.test(name)) continue;
    const stat = statSync(join(outdir, name), { throwIfNoEntry: false });
    if (stat && stat.mtimeMs < started - 60_000) rmSync(join(outdir, name), { force: true });
  }
  return { outputs, inputs: Object.keys(inputs).length };
}

/** Leaves every package outside the bundle except those of BUNDLED (and what they import). */
const externalPackages = {
  name: 'flowrunner-external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      // Imported by a bundled package: bundled with it.
      const from = relative(root, args.importer);
      if (from.startsWith('..') || from.split(/[\\/]/).includes('node_modules')) return undefined;
      const name = args.path.split('/', args.path.startsWith('@') ? 2 : 1).join('/');
      return BUNDLED.has(name) ? undefined : { path: args.path, external: true };
    });
  },
};

function writeAtomically(path, contents) {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

function describe(message) {
  const where = message.location
    ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: `
    : '';
  return `${where}${message.text}`;
}

// As a command (npm run build, prepare).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--outdir');
  const outdir = at === -1 ? defaultOutdir : resolve(args[at + 1] ?? '');
  try {
    if (args.includes('--if-stale') && isFresh(outdir)) {
      process.stdout.write(`flowrunner: ${relative(process.cwd(), outdir) || '.'} is up to date\n`);
    } else {
      const began = performance.now();
      const { outputs, inputs } = await build({ outdir });
      const took = Math.round(performance.now() - began);
      process.stdout.write(
        `flowrunner: built ${relative(process.cwd(), outdir)}/ (${outputs.filter((o) => o.endsWith('.mjs')).length} files from ${inputs} sources) in ${took} ms\n`,
      );
    }
    // The web console beside it (dist/console), unless --if-stale finds it fresh.
    const { buildConsole, ensureConsoleBuilt } = await import('./build-console.mjs');
    const began = performance.now();
    const built = args.includes('--if-stale')
      ? await ensureConsoleBuilt(outdir)
      : Boolean(await buildConsole(outdir));
    if (built) {
      process.stdout.write(
        `flowrunner: built ${relative(process.cwd(), outdir)}/console/ in ${Math.round(performance.now() - began)} ms\n`,
      );
    }
  } catch (error) {
    if (args.includes('--optional')) {
      // prepare (npm ci): an install does not fail for want of dist/; bin/ builds it or uses tsx.
      const reason = String(error?.message ?? error);
      process.stdout.write(
        `flowrunner: dist/ not built (${reason.split('\n')[0]}): the CLI and npm start will build it on first use, or run the sources with tsx\n`,
      );
    } else {
      process.stderr.write(
        `flowrunner: cannot build ${relative(process.cwd(), outdir)}/: ${error?.message ?? error}\n`,
      );
      process.exitCode = 1;
    }
  }
}
