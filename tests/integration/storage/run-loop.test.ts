/**
 * The engine's RunLoop persisting through the DynamoDB RunStore on dynalite: what a plain step costs
 * in writes, and a run picked up from its checkpoint by another process after the first one died.
 */
import { describe, expect, it } from 'vitest';
import type { WorkflowVersion } from '../../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import { createRun } from '../../../shared/engine/transition.js';
import type { RunState, Transition } from '../../../shared/engine/types.js';
import { RunLoop } from '../../../shared/orchestration/run-loop.js';
import { CursorCodec } from '../../../shared/storage/cursor.js';
import { DynamoDbRunStore } from '../../../shared/storage/dynamodb/runs.js';
import { memoryOrchestrator } from '../../support/memory-orchestrator.js';
import { TEST_CURSOR_KEY, useDynalite } from '../../support/stores.js';
import { linearTransformWorkflow, measureWritesPerStep } from './count-writes.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const dynamo = useDynalite();

describe('RunLoop on the DynamoDB RunStore', () => {
  it('spends at most 2 writes per executed step of a 10-step linear run', async () => {
    const measured = await measureWritesPerStep({ endpoint: dynamo.endpoint, steps: 10 });
    expect(measured.steps).toBe(10);
    expect(measured.writes_per_step).toBeLessThanOrEqual(2);
    // One update per transition, plus the creation and the occasional chunk of the journal.
    expect(measured.by_command.UpdateItemCommand).toBe(measured.transitions);
    expect(measured.writes).toBeLessThanOrEqual(1 + 2 * measured.transitions);
  });

  it('stays within 2 writes per transition even when every commit moves the journal', async () => {
    const measured = await measureWritesPerStep({
      endpoint: dynamo.endpoint,
      steps: 10,
      journalFlushBytes: 1,
    });
    expect(measured.writes).toBe(1 + 2 * measured.transitions);
  });

  it('continues a run from its checkpoint in a new process, running no completed step again', async () => {
    const client = dynamo.client();
    const tables = await dynamo.freshTables(client);
    const store = () =>
      new DynamoDbRunStore({ client, table: tables.runs, cursors: new CursorCodec(TEST_CURSOR_KEY) });
    const { deps, clock } = memoryOrchestrator();
    const registry = deps.registry;
    const workflow: WorkflowVersion = {
      id: 'linear-6',
      version: 1,
      definition: assertValidWorkflow(linearTransformWorkflow(6), { registry }),
      created_at: clock.now().toISOString(),
    };
    const loopFor = (state: RunState, persist: (t: Transition) => Promise<void>) =>
      new RunLoop(state, {
        workflow,
        executor: deps,
        persist,
      });

    const first = store();
    const created = createRun({ id: 'run_restart', workflow, inputs: {}, now: clock.now() });
    await first.create(created);
    let commits = 0;
    const dying = loopFor(created.state, async (transition) => {
      // The process dies after its fourth commit: the fifth transition is never stored.
      if (++commits > 4) throw new Error('process killed');
      await first.commit(transition);
    });
    dying.deliver({ type: 'start' });
    await expect(dying.run()).rejects.toThrow('process killed');

    const second = store();
    const { state } = await second.get('run_restart');
    expect(state.checkpoint).toBe(4);
    const resumed = loopFor(state, (transition) => second.commit(transition));
    const result = await resumed.run();
    expect(result.state.status).toBe('completed');
    expect((result.state.output as { n: number }).n).toBe(6);

    const history = await second.history('run_restart');
    expect(history.map((row) => [row.step_id, row.status])).toEqual(
      ['s0', 's1', 's2', 's3', 's4', 's5'].map((id) => [id, 'completed']),
    );
    // Each step started and completed once: s3, dispatched at the last stored checkpoint, finished
    // in the new process; nothing before it ran twice.
    const { events } = await second.events('run_restart');
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: result.state.seq }, (_, i) => i + 1));
    const trail = (type: string) => events.filter((e) => e.type === type).map((e) => e.step_id);
    expect(trail('step.started')).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
    expect(trail('step.completed')).toEqual(['s0', 's1', 's2', 's3', 's4', 's5']);
  });
});
