/**
 * The process crash-loop.test.ts starts again and again: a local runtime whose `boom` step type
 * kills the process (as a runaway step or an out-of-memory would). With `start`, it stores the
 * workflow and starts one run of it. It prints `{"up": true}` once the runtime has started and
 * `{"status": …}` when the run has ended.
 *
 * Usage: node --import tsx tests/integration/local/crash-loop-child.ts <dataDir> [start]
 */
import { z } from 'zod';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import { startRun } from '../../../shared/orchestration/orchestrator.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { defineStepType } from '../../../shared/steps/types.js';
import { startLocalRuntime, until } from '../../support/local-runtime.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const boom = defineStepType({
  type: 'boom',
  description: 'Takes the whole process down.',
  config: z.object({}).strict(),
  action: true,
  outcomes: () => ['success'],
  async execute() {
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => {});
  },
});

const [dataDir, mode] = process.argv.slice(2);
const registry = createStepRegistry([boom]);
const { runtime } = await startLocalRuntime({ dataDir: dataDir!, registry });
process.stdout.write(`${JSON.stringify({ up: true })}\n`);
if (mode === 'start') {
  const definition = assertValidWorkflow(
    'schema_version: "1.0"\nid: bomb\nsteps:\n  - { id: fuse, type: boom, config: {} }\n',
    { registry },
  );
  const workflow = await runtime.local.stores.workflows.create(definition, new Date());
  await startRun({ workflow, inputs: {}, runId: 'run_bomb' }, runtime.deps);
}
const ended = await until(
  runtime,
  'run_bomb',
  (r) => ['completed', 'failed', 'canceled'].includes(r.status),
  {
    timeoutMs: 60_000,
  },
);
process.stdout.write(`${JSON.stringify({ status: ended.status, error: ended.error })}\n`);
await runtime.close();
