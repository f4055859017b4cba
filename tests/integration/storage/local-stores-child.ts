/**
 * A process that commits deltas of one run to the local stores until it is killed (kill -9 test):
 * with the default snapshot rule, a snapshot every few dozen commits, so the kill can land between
 * a delta and the snapshot after it, or in the middle of either.
 */
import { startLocalStores } from '../../../shared/storage/local/stores.js';
import { StepScript } from './fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const [dataDir, runId] = process.argv.slice(2) as [string, string];
const local = await startLocalStores({ dataDir });
const script = new StepScript(runId);
await local.stores.runs.create(script.created());
for (let n = 1; ; n++) {
  const { transition, steps } = script.next();
  await local.stores.runs.commit(transition, { steps });
  // Printed only after the commit was acknowledged: the parent kills us at an arbitrary later point.
  process.stdout.write(`committed ${n}\n`);
}
