/**
 * What a Lambda cold start costs in code: each function is bundled as FlowFunction bundles it
 * (infra/constructs/bundling.ts), and each bundle is imported by fresh `node` processes; the figure
 * is the median time of the import itself (Node's own start excluded, as Lambda's init phase
 * starts after the runtime is up). With `sdkExternal` the same handler is measured as it would
 * be with the AWS SDK left out of the bundle and read from node_modules, as the Lambda runtime's
 * copy of the SDK would be.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import {
  BUNDLING,
  externalModulesOf,
  FUNCTION_NODE_OPTIONS,
  LAMBDA_ENTRIES,
  type LambdaName,
} from '../../infra/constructs/bundling.js';

const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/** What the functions read at cold start (functions/environment.ts): names only, nothing is called. */
const LAMBDA_ENV = {
  FLOWRUNNER_WORKFLOWS_TABLE: 'workflows',
  FLOWRUNNER_RUNS_TABLE: 'runs',
  FLOWRUNNER_TOKENS_TABLE: 'tokens',
  FLOWRUNNER_LISTENERS_TABLE: 'listeners',
  FLOWRUNNER_BUCKET: 'bucket',
  FLOWRUNNER_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:flowrunner-runs',
  FLOWRUNNER_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:keys',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  // The wiring asks Secrets Manager for its keys at import: let that fail at once, on loopback.
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/**
 * Imports the bundle, prints the CPU milliseconds the import took, and leaves before anything
 * runs. CPU time rather than wall time: on an idle machine they are the same (the files are in
 * the page cache), and on a shared one CPU time does not count the turns other processes take.
 */
const IMPORT_SCRIPT = `
const before = process.cpuUsage();
await import(process.argv[1]);
const spent = process.cpuUsage(before);
process.stdout.write(String((spent.user + spent.system) / 1000));
process.exit(0);
`;

export interface ColdStartFigure {
  bundle_kb: number;
  cold_import_ms: number;
}

/**
 * Bundles one function as FlowFunction does, with `external` left out, into `outfile` (or into
 * memory without one); the metafile says which modules went in and how each is imported.
 */
export async function bundleFunction(
  name: LambdaName,
  options: { outfile?: string; external?: readonly string[] } = {},
): Promise<Metafile> {
  const result = await build({
    entryPoints: [join(root, LAMBDA_ENTRIES[name])],
    bundle: true,
    outfile: options.outfile ?? join(tmpdir(), `${name}.mjs`),
    write: options.outfile !== undefined,
    metafile: true,
    format: BUNDLING.format,
    target: BUNDLING.target,
    platform: BUNDLING.platform,
    mainFields: [...BUNDLING.mainFields],
    sourcemap: BUNDLING.sourcemap,
    sourcesContent: BUNDLING.sourcesContent,
    minify: BUNDLING.minify,
    banner: { js: BUNDLING.banner },
    external: [...(options.external ?? externalModulesOf(LAMBDA_ENTRIES[name]))],
    logLevel: 'error',
  });
  return result.metafile;
}

/** The median import time (CPU) of a bundle over `processes` fresh Node processes. */
function importMs(file: string, processes: number, nodeOptions: readonly string[]): number {
  const times: number[] = [];
  for (let i = 0; i < processes; i++) {
    const child = spawnSync(
      process.execPath,
      [...nodeOptions, '--input-type=module', '-e', IMPORT_SCRIPT, pathToFileURL(file).href],
      { env: { PATH: process.env.PATH ?? '', ...LAMBDA_ENV }, encoding: 'utf8', timeout: 60_000 },
    );
    const ms = Number(child.stdout);
    if (child.status !== 0 || !Number.isFinite(ms)) {
      throw new Error(`importing ${file} failed (${child.status}): ${child.stderr.slice(0, 2000)}`);
    }
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/**
 * Bundle size and median import time of every function, bundled as deployed (with `sdkExternal`,
 * the AWS SDK left out as well). The bundles are built in a temporary directory whose node_modules is the
 * project's, so a package left out is found as the runtime would find its own.
 */
export async function measureColdStart(
  options: { processes?: number; sdkExternal?: boolean; nodeOptions?: readonly string[] } = {},
): Promise<Record<LambdaName, ColdStartFigure>> {
  const nodeOptions = options.nodeOptions ?? FUNCTION_NODE_OPTIONS.split(' ');
  const outdir = mkdtempSync(join(tmpdir(), 'flowrunner-cold-start-'));
  try {
    symlinkSync(join(root, 'node_modules'), join(outdir, 'node_modules'), 'dir');
    const figures = {} as Record<LambdaName, ColdStartFigure>;
    for (const name of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
      const file = join(outdir, `${name}.mjs`);
      const external = [
        ...externalModulesOf(LAMBDA_ENTRIES[name]),
        ...(options.sdkExternal ? ['@aws-sdk/*'] : []),
      ];
      await bundleFunction(name, { outfile: file, external });
      figures[name] = {
        bundle_kb: statSync(file).size / 1024,
        cold_import_ms: importMs(file, options.processes ?? 7, nodeOptions),
      };
    }
    return figures;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The figures under their `npm run bench` keys: `cold_import_ms_advance`, `bundle_kb_advance`, ... */
export function coldStartKeys(figures: Record<LambdaName, ColdStartFigure>): Record<string, number> {
  const keys: Record<string, number> = {};
  for (const [name, figure] of Object.entries(figures)) {
    keys[`cold_import_ms_${name}`] = Math.round(figure.cold_import_ms);
    keys[`bundle_kb_${name}`] = Math.round(figure.bundle_kb);
  }
  return keys;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  // `tsx tests/bench/cold-start.ts`: as deployed, with the AWS SDK read from node_modules instead,
  // and without source maps.
  const deployed = coldStartKeys(await measureColdStart());
  const sdkExternal = coldStartKeys(await measureColdStart({ sdkExternal: true }));
  const noSourceMaps = coldStartKeys(await measureColdStart({ nodeOptions: [] }));
  process.stdout.write(
    `${JSON.stringify({ deployed, sdk_external: sdkExternal, no_source_maps: noSourceMaps })}\n`,
  );
}
