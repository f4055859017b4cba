/**
 * The process that crash-safety.test.ts kills: a local runtime on a data directory that starts runs
 * of a workflow of `api_call` steps to a loopback sink, and reports on stdout, one JSON object a line:
 * `{"started": run_id, "n": n}` per run, `{"all_started": count}`, `{"completed": count}` as runs end,
 * `{"execution_error": text}` if an execution fails.
 *
 * Usage: node --import tsx tests/integration/local/crash-child.ts <dataDir> <sinkUrl> [runs] [steps]
 */
import { pathToFileURL } from 'node:url';
import { startLocalRuntime, storeWorkflow } from '../../support/local-runtime.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const CRASH_WORKFLOW_ID = 'crash-sink';

/** A linear workflow of `steps` POSTs to `<sinkUrl>/step/<i>`; its output lists what the sink answered. */
export function crashWorkflowYaml(sinkUrl: string, steps: number): string {
  const lines = ['schema_version: "1.0"', `id: ${CRASH_WORKFLOW_ID}`, 'steps:'];
  for (let i = 1; i <= steps; i++) {
    lines.push(
      `  - id: s${i}`,
      '    type: api_call',
      '    config:',
      '      method: POST',
      `      base_url: ${JSON.stringify(sinkUrl)}`,
      `      url: /step/${i}`,
      `      body: { n: "{{ inputs.n }}", step: ${i} }`,
    );
    if (i < steps) lines.push(`    next: s${i + 1}`);
  }
  lines.push('output:', '  n: "{{ inputs.n }}"', '  calls:');
  for (let i = 1; i <= steps; i++) {
    lines.push(
      `    - path: "{{ steps.s${i}.output.body.path }}"`,
      `      n: "{{ steps.s${i}.output.body.received.n }}"`,
      `      key: "{{ steps.s${i}.output.body.idempotency_key }}"`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** What a run with input `n` must end with. */
export function crashWorkflowOutput(runId: string, n: number, steps: number) {
  return {
    n,
    calls: Array.from({ length: steps }, (_, k) => ({
      path: `/step/${k + 1}`,
      n,
      key: `${runId}:s${k + 1}:1`,
    })),
  };
}

function say(message: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function main(): Promise<void> {
  const [dataDir, sinkUrl, runsArg = '10', stepsArg = '6'] = process.argv.slice(2);
  if (!dataDir || !sinkUrl) throw new Error('usage: crash-child.ts <dataDir> <sinkUrl> [runs] [steps]');
  const runs = Number(runsArg);
  const steps = Number(stepsArg);
  const { runtime } = await startLocalRuntime({
    dataDir,
    env: { FLOWRUNNER_ALLOW_PRIVATE_NETWORK: 'true' },
    onExecutionError: (name, error) => say({ execution_error: `${name}: ${String(error)}` }),
  });
  const workflow = await storeWorkflow(runtime, crashWorkflowYaml(sinkUrl, steps));
  const ids: string[] = [];
  for (let n = 1; n <= runs; n++) {
    const run = await runtime.startRun(workflow, { n });
    ids.push(run.id);
    say({ started: run.id, n });
  }
  say({ all_started: ids.length });
  // Progress until the parent kills this process (or every run ends).
  let reported = -1;
  for (;;) {
    const records = await Promise.all(ids.map((id) => runtime.local.stores.runs.get(id)));
    const completed = records.filter((r) => r.state.status === 'completed').length;
    if (completed !== reported) say({ completed });
    reported = completed;
    if (completed === ids.length) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await runtime.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`crash-child: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
