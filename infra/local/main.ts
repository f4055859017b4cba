/** `npm start`: the whole system on one machine — the API and the engine on embedded stores. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type LocalServer, startLocalServer } from './server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const settings = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    /** The local S3 endpoint (CONTRACT §6). */
    FLOWRUNNER_S3_PORT: z.coerce.number().int().min(0).max(65_535).default(4569),
    FLOWRUNNER_DATA_DIR: z.string().min(1).default('.flowrunner'),
  })
  .safeParse(process.env);
if (!settings.success) {
  process.stderr.write(
    `flowrunner: ${settings.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`,
  );
  process.exit(2);
}

/** How long a stop may take before the process exits anyway (Docker's own limit is 10 s). */
const STOP_GRACE_MS = 5_000;

const dataDir = resolve(settings.data.FLOWRUNNER_DATA_DIR);
const examplesDir = join(packageRoot(), 'examples');
let server: LocalServer;
try {
  server = await startLocalServer({
    dataDir,
    port: settings.data.PORT,
    s3Port: settings.data.FLOWRUNNER_S3_PORT,
    examplesDir,
  });
} catch (error) {
  fail('cannot start', error);
}

process.stdout.write(
  [
    `Flowrunner is running at ${server.url} (data in ${dataDir})`,
    ...(server.loaded.length > 0 ? [`Loaded workflows: ${server.loaded.join(', ')}`] : []),
    `S3 endpoint for s3 listeners: ${server.s3Url} (path-style, any access key)`,
    `Start a run: curl -s -X POST ${server.url}/v1/executions -H 'content-type: application/json' \\`,
    `  -d '{"workflow_id":"order-checks","inputs":{"order_id":"o-1","amount":2500}}'`,
    '',
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    // A Ctrl-C reaches this process twice (from the terminal and forwarded by npm): once counts.
    if (stopping) return;
    stopping = true;
    process.stdout.write('Stopping: runs under way continue on the next start.\n');
    setTimeout(() => {
      process.stderr.write(`flowrunner: could not stop within ${STOP_GRACE_MS / 1000} s, stopping now\n`);
      process.exit(1);
    }, STOP_GRACE_MS).unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => fail('could not stop cleanly', error),
    );
  });
}

/**
 * The folder of package.json, where examples/ is: two levels up from this file in the sources,
 * one from the build in dist/.
 */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** One line on stderr, exit code 1: what failed and why, without a stack trace. */
function fail(what: string, error: unknown): never {
  const reason = error instanceof Error ? error.message : String(error);
  process.stderr.write(`flowrunner: ${what}: ${reason}\n`);
  process.exit(1);
}
