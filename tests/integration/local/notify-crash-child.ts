/**
 * The process that child-notify-crash.test.ts lets die: a local runtime that starts a parent run
 * whose `workflow` step starts a child, and kills itself with SIGKILL at the worst moment for the
 * parent: the child's last commit is stored, and the parent has not been told yet (the inbox write
 * of the child's end is where it dies). It prints `{"parent": run_id}` first.
 *
 * Usage: node --import tsx tests/integration/local/notify-crash-child.ts <dataDir>
 */
import { pathToFileURL } from 'node:url';
import { startLocalRuntime, storeWorkflow } from '../../support/local-runtime.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const CHILD_YAML = `schema_version: "1.0"
id: notify-child
steps:
  - { id: work, type: transform, config: { output: "done by the child" } }
`;

export const PARENT_YAML = `schema_version: "1.0"
id: notify-parent
steps:
  - { id: kid, type: workflow, config: { workflow_id: notify-child } }
output: "{{ steps.kid.output }}"
`;

async function main(): Promise<void> {
  const [dataDir] = process.argv.slice(2);
  if (!dataDir) throw new Error('usage: notify-crash-child.ts <dataDir>');
  const { runtime } = await startLocalRuntime({ dataDir });
  await storeWorkflow(runtime, CHILD_YAML);
  const parent = await storeWorkflow(runtime, PARENT_YAML);
  const inbox = runtime.deps.stores.inbox;
  const put = inbox.put.bind(inbox);
  inbox.put = (runId, signalId, signal, now, options) => {
    // The child's end, on its way to the parent: the process dies before it is written.
    if (signalId.startsWith('child:')) process.kill(process.pid, 'SIGKILL');
    return put(runId, signalId, signal, now, options);
  };
  const run = await runtime.startRun(parent, {});
  process.stdout.write(`${JSON.stringify({ parent: run.id })}\n`);
  await new Promise((resolve) => setTimeout(resolve, 60_000));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`notify-crash-child: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
