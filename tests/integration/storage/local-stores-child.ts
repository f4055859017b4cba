/** A process that commits transitions of one run to the local stores until it is killed (kill -9 test). */
import { startLocalStores } from '../../../shared/storage/local/stores.js';
import { RunScript } from './fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const [dataDir, runId] = process.argv.slice(2) as [string, string];
const local = await startLocalStores({ dataDir });
const script = new RunScript(runId);
await local.stores.runs.create(script.created());
for (let n = 1; ; n++) {
  await local.stores.runs.commit(script.next({ patch: { output: { n } } }));
  // Printed only after the commit was acknowledged: the parent kills us at an arbitrary later point.
  process.stdout.write(`committed ${n}\n`);
}
