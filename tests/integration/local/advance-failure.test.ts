/**
 * An Advance that keeps failing fails its run (AdvanceFailed) instead of leaving it `running` with no
 * execution: the deployed definition's Catch, run by the ASL interpreter over the local stores. Once
 * the cause is gone, a redrive goes on from where the run stopped.
 */
import { describe, expect, it } from 'vitest';
import { States } from '../../../infra/state-machine.js';
import { redriveRun } from '../../../shared/orchestration/orchestrator.js';
import { cleanupAfterEach } from '../../support/cleanup.js';
import { hasEnded, startLocalRuntime, storeWorkflow, until } from '../../support/local-runtime.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const defer = cleanupAfterEach();

const flow = `schema_version: "1.0"
id: stores-b
steps:
  - { id: a, type: form, config: { fields: [{ key: n, type: integer, required: true }] }, next: b }
  - { id: b, type: transform, config: { output: { n: "{{ steps.a.output.n + 1 }}" } }, next: c }
  - { id: c, type: transform, config: { output: { n: "{{ steps.b.output.n + 1 }}" } } }
`;

describe('an Advance that keeps failing', () => {
  it('fails its run with what went wrong, ends the execution in success, and a redrive finishes the run', async () => {
    // Retries at once: the deployed waits (5 s, 15 s, 45 s, 120 s) are the same retries, only slower.
    const started = await startLocalRuntime({ retryIntervalOverrides: { [States.Advance]: 0 } });
    defer(started.close);
    const { runtime } = started;
    const runs = runtime.deps.stores.runs;
    const commit = runs.commit.bind(runs);
    let refused = 0;
    let broken = true;
    // A defect that every try meets: storing step b's result throws.
    runs.commit = async (transition, options) => {
      if (broken && transition.events.some((e) => e.type === 'step.completed' && e.step_id === 'b')) {
        refused += 1;
        throw new TypeError('Cannot convert a BigInt value to a number');
      }
      return commit(transition, options);
    };
    const workflow = await storeWorkflow(runtime, flow);
    const run = await runtime.startRun(workflow, {});
    await until(runtime, run.id, (r) => r.status === 'waiting');
    await runtime.deliver(run.id, 'answer-1', { type: 'resume', payload: { inputs: { n: 1 } } });

    const failed = await until(runtime, run.id, hasEnded);
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({
      code: 'AdvanceFailed',
      message: expect.stringContaining('(TypeError: Cannot convert a BigInt value to a number)'),
    });
    // The first try and Advance's four retries; Abort stored the failure before any step ran again.
    expect(refused).toBe(5);
    expect(failed.steps.a?.status).toBe('completed');
    expect(failed.steps.b?.status).not.toBe('completed');
    // A failed run is an outcome of the orchestration: its execution did not fail.
    expect(started.failures).toEqual([]);
    const { events } = await runtime.local.stores.runs.events(run.id);
    expect(events.at(-1)).toMatchObject({ type: 'run.failed', data: { error: { code: 'AdvanceFailed' } } });

    broken = false;
    await redriveRun(run.id, undefined, runtime.deps);
    const done = await until(runtime, run.id, (r) => r.redrives === 1 && hasEnded(r));
    expect(done.status).toBe('completed');
    expect(done.output).toEqual({ n: 3 });
    const history = await runtime.local.stores.runs.history(run.id);
    expect(history.filter((h) => h.step_id === 'a')).toHaveLength(1);
    expect(started.failures).toEqual([]);
  }, 60_000);
});
