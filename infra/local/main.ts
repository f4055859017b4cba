/** `npm start`: the whole system on one machine — the API and the engine on embedded stores. */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { startLocalServer } from './server.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const settings = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
    FLOWRUNNER_DATA_DIR: z.string().min(1).default('.flowrunner'),
  })
  .safeParse(process.env);
if (!settings.success) {
  process.stderr.write(
    `flowrunner: ${settings.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`,
  );
  process.exit(2);
}

const dataDir = resolve(settings.data.FLOWRUNNER_DATA_DIR);
const examplesDir = fileURLToPath(new URL('../../examples/', import.meta.url));
const server = await startLocalServer({ dataDir, port: settings.data.PORT, examplesDir });

process.stdout.write(
  [
    `Flowrunner is running at ${server.url} (data in ${dataDir})`,
    ...(server.loaded.length > 0 ? [`Loaded workflows: ${server.loaded.join(', ')}`] : []),
    `Start a run: curl -s -X POST ${server.url}/v1/executions -H 'content-type: application/json' \\`,
    `  -d '{"workflow_id":"order-checks","inputs":{"order_id":"o-1","amount":2500}}'`,
    '',
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('Stopping: runs under way continue on the next start.\n');
    void server.close().then(() => process.exit(0));
  });
}
