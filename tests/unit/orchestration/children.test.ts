/** Child runs started by `workflow` steps: what a start checks, and which child each attempt gets. */
import { describe, expect, it } from 'vitest';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import type { Signal } from '../../../shared/engine/types.js';
import { orchestratedChildren } from '../../../shared/orchestration/children.js';
import { deliverSignal, redriveRun, startRun } from '../../../shared/orchestration/orchestrator.js';
import type { StartChildRequest } from '../../../shared/ports/index.js';
import { drive, memoryOrchestrator, NOW } from '../../support/memory-orchestrator.js';

async function setUp(yaml: string[]) {
  const { deps, stores, clock, started } = memoryOrchestrator();
  const [first, ...others] = yaml;
  for (const other of others) await stores.workflows.create(assertValidWorkflow(other), NOW);
  const workflow = await stores.workflows.create(assertValidWorkflow(first!), NOW);
  return { deps, stores, clock, started, workflow };
}

const strictChild = `schema_version: "1.0"
id: strict-child
inputs:
  type: object
  required: [customer]
  additionalProperties: false
  properties: { customer: { type: string } }
steps:
  - { id: hello, type: transform, config: { output: "{{ inputs.customer }}" } }
`;

/** A child that waits for a person: it is still running when its parent's step times out. */
const slowChild = `schema_version: "1.0"
id: slow-child
steps:
  - { id: ask, type: form, config: { fields: [{ key: name, required: true }] } }
`;

function parentOf(step: string): string {
  return `schema_version: "1.0"
id: parent
steps:
  - ${step}
`;
}

/** The start the `kid` step of run `parent_run` asks for (visit 1, attempt 1 unless given). */
function request(overrides: Partial<StartChildRequest> = {}): StartChildRequest {
  return {
    parent_run_id: 'parent_run',
    parent_step_id: 'kid',
    visit: 1,
    attempt: 1,
    depth: 1,
    root_run_id: 'parent_run',
    workflow_id: 'strict-child',
    inputs: { customer: 'c1' },
    idempotency_key: 'parent_run:kid:1',
    ...overrides,
  };
}

/** A parent run of `kid` (its one step) started beside `strict-child`, retired first if asked. */
async function parentWithKid(kid: string, options: { retired?: boolean } = {}) {
  const set = await setUp([parentOf(kid), strictChild]);
  if (options.retired) await set.stores.workflows.retire('strict-child', NOW);
  const run = await startRun({ workflow: set.workflow, inputs: {} }, set.deps);
  return { ...set, run };
}

describe('orchestratedChildren.start', () => {
  describe('inputs', () => {
    it("fails the step, without a retry or a child, when the inputs do not fit the child's inputs schema", async () => {
      const { deps, stores, started, run } = await parentWithKid(
        '{ id: kid, type: workflow, retry: { max_attempts: 3 }, config: { workflow_id: strict-child, inputs: { bogus: 1 } } }',
      );
      expect((await drive(deps, run.id)).directive).toBe('failed');
      const { state } = await stores.runs.get(run.id);
      expect(state.steps.kid).toMatchObject({
        status: 'failed',
        attempt: 1,
        error: { code: 'InvalidInputs', retryable: false },
      });
      const message = state.steps.kid!.error!.message;
      expect(message).toContain("'strict-child'");
      expect(message).toContain('inputs.customer is required');
      expect(message).toContain('additional properties');
      expect(started.map((s) => s.run_id)).toEqual([run.id]);
      // No child was counted against the tree either.
      expect(await stores.trees.admit(run.id, 1)).toBe(true);
    });

    it('starts the child when the inputs fit', async () => {
      const { deps, stores, started, run } = await parentWithKid(
        '{ id: kid, type: workflow, config: { workflow_id: strict-child, inputs: { customer: ada } } }',
      );
      expect((await drive(deps, run.id)).directive).toBe('await');
      const child = started.find((s) => s.run_id !== run.id)!;
      expect((await drive(deps, child.run_id)).directive).toBe('done');
      expect((await drive(deps, run.id)).directive).toBe('done');
      expect((await stores.runs.get(run.id)).state.output).toBe('ada');
    });
  });

  describe('a retired workflow', () => {
    it('starts no new child run: the step fails without a retry', async () => {
      const { deps, stores, started, run } = await parentWithKid(
        '{ id: kid, type: workflow, retry: { max_attempts: 3 }, config: { workflow_id: strict-child, inputs: { customer: ada } } }',
        { retired: true },
      );
      expect((await drive(deps, run.id)).directive).toBe('failed');
      const { state } = await stores.runs.get(run.id);
      expect(state.steps.kid).toMatchObject({
        status: 'failed',
        attempt: 1,
        error: { code: 'WorkflowRetired', retryable: false },
      });
      expect(state.steps.kid!.error!.message).toContain("Workflow 'strict-child' is retired");
      expect(started.map((s) => s.run_id)).toEqual([run.id]);
      expect(await stores.trees.admit(run.id, 1)).toBe(true);
    });

    it('still finds the child a repeated start already started before it was retired', async () => {
      const { deps, stores } = await setUp([strictChild]);
      const children = orchestratedChildren(deps);
      const first = await children.start(request());
      await stores.workflows.retire('strict-child', NOW);
      expect(await children.start(request())).toEqual(first);
      // A start for another visit is a new child: refused.
      await expect(
        children.start(request({ visit: 2, idempotency_key: 'parent_run:kid:2' })),
      ).rejects.toMatchObject({ code: 'WorkflowRetired', retryable: false });
    });
  });

  describe('attempts', () => {
    it('gives each attempt of a visit its own child, and a repeated start of one attempt the same child', async () => {
      const { deps } = await setUp([strictChild]);
      const children = orchestratedChildren(deps);
      const first = await children.start(request());
      expect(await children.start(request())).toEqual(first);
      const second = await children.start(request({ attempt: 2 }));
      expect(second.run_id).not.toBe(first.run_id);
      expect(await children.start(request({ attempt: 2 }))).toEqual(second);
    });

    it('starts a new child for the retry of a step whose attempt timed out, and the run completes with it', async () => {
      const { deps, stores, clock, started, workflow } = await setUp([
        parentOf(
          '{ id: kid, type: workflow, timeout_s: 60, retry: { max_attempts: 2, backoff_s: 1 }, config: { workflow_id: slow-child } }',
        ),
        slowChild,
      ]);
      const run = await startRun({ workflow, inputs: {} }, deps);
      expect((await drive(deps, run.id)).directive).toBe('await');
      const firstChild = started.find((s) => s.run_id !== run.id)!.run_id;
      expect((await drive(deps, firstChild)).directive).toBe('await');

      // The attempt's time is up: its child is asked to cancel, and the step waits for its retry.
      clock.advance(60_000);
      await drive(deps, run.id, { type: 'timeout' });
      expect((await stores.runs.get(run.id)).state.steps.kid).toMatchObject({
        attempt: 1,
        error: { code: 'StepTimeout' },
      });

      // The retry starts a child of its own.
      clock.advance(1_000);
      expect((await drive(deps, run.id, { type: 'timeout' })).directive).toBe('await');
      let { state } = await stores.runs.get(run.id);
      expect(state.steps.kid).toMatchObject({ status: 'waiting', attempt: 2 });
      const secondChild = state.steps.kid!.wait!.child_run_id!;
      expect(secondChild).not.toBe(firstChild);

      // The first child ends canceled only now: the parent ignores it, and waits for the second.
      expect((await drive(deps, firstChild)).directive).toBe('canceled');
      expect((await drive(deps, run.id)).directive).toBe('await');
      ({ state } = await stores.runs.get(run.id));
      expect(state.steps.kid).toMatchObject({ status: 'waiting', attempt: 2 });
      expect(state.steps.kid!.error).toMatchObject({ code: 'StepTimeout' });

      expect((await drive(deps, secondChild)).directive).toBe('await');
      const answer: Signal = { type: 'resume', step_id: 'ask', payload: { inputs: { name: 'ada' } } };
      await deliverSignal(secondChild, 'answer-1', answer, deps);
      expect((await drive(deps, secondChild)).directive).toBe('done');
      expect((await drive(deps, run.id)).directive).toBe('done');
      expect((await stores.runs.get(run.id)).state.output).toEqual({ name: 'ada' });
    });

    it('starts a new child when a redrive enters the step again', async () => {
      const { deps, stores, started, workflow } = await setUp([
        parentOf('{ id: kid, type: workflow, config: { workflow_id: slow-child } }'),
        slowChild,
      ]);
      const run = await startRun({ workflow, inputs: {} }, deps);
      await drive(deps, run.id);
      const firstChild = started.find((s) => s.run_id !== run.id)!.run_id;
      await drive(deps, firstChild);
      // Someone cancels the child: the parent fails, and is redriven.
      await deliverSignal(firstChild, 'cancel-1', { type: 'cancel' }, deps);
      expect((await drive(deps, firstChild)).directive).toBe('canceled');
      expect((await drive(deps, run.id)).directive).toBe('failed');
      await redriveRun(run.id, undefined, deps);
      expect((await drive(deps, run.id)).directive).toBe('await');
      const { state } = await stores.runs.get(run.id);
      expect(state.steps.kid).toMatchObject({ status: 'waiting', visit: 2 });
      expect(state.steps.kid!.wait!.child_run_id).not.toBe(firstChild);
    });
  });
});
