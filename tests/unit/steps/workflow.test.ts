import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../shared/errors.js';
import { MAX_CHILD_DEPTH, workflow } from '../../../shared/steps/workflow.js';
import { execute, recordingChildren } from './context.js';

describe('workflow.execute', () => {
  it('starts the child run with a stable idempotency key and waits for it', async () => {
    const children = recordingChildren();
    const { result } = await execute(
      workflow,
      { workflow_id: 'billing', version: 3, inputs: { customer: 'c1' } },
      { deps: { children }, step: { id: 'bill' }, visit: 2 },
    );
    expect(children.started).toEqual([
      {
        parent_run_id: 'run_1',
        parent_step_id: 'bill',
        visit: 2,
        attempt: 1,
        depth: 1,
        root_run_id: 'run_1',
        workflow_id: 'billing',
        version: 3,
        inputs: { customer: 'c1' },
        idempotency_key: 'run_1:bill:2',
      },
    ]);
    expect(result).toEqual({
      status: 'waiting',
      wait: {
        kind: 'child',
        child_run_id: 'child_1',
        data: { workflow_id: 'billing', version: 3, child_run_id: 'child_1' },
      },
    });
  });

  it('starts a child one level deeper than its run, and none deeper than MAX_CHILD_DEPTH', async () => {
    const children = recordingChildren();
    await execute(workflow, { workflow_id: 'billing' }, { deps: { children }, depth: MAX_CHILD_DEPTH - 1 });
    expect(children.started[0]).toMatchObject({ depth: MAX_CHILD_DEPTH });
    const { result } = await execute(
      workflow,
      { workflow_id: 'billing' },
      { deps: { children }, step: { id: 'again' }, depth: MAX_CHILD_DEPTH },
    );
    expect(children.started).toHaveLength(1);
    expect(result).toMatchObject({
      status: 'failed',
      error: { code: 'ChildDepthExceeded', retryable: false },
    });
    expect((result as { error: { message: string } }).error.message).toContain(
      `Step 'again' would start 'billing' as a child run ${MAX_CHILD_DEPTH + 1} levels deep`,
    );
  });

  it('starts the latest version with empty inputs when none are given', async () => {
    const children = recordingChildren();
    await execute(workflow, { workflow_id: 'billing' }, { deps: { children } });
    expect(children.started[0]).not.toHaveProperty('version');
    expect(children.started[0]).toMatchObject({ inputs: {} });
  });

  it('lets an unknown workflow fail the step without retry', async () => {
    const children = {
      start: async () => {
        throw new NotFoundError('Workflow', 'nope');
      },
      cancel: async () => {},
    };
    await expect(execute(workflow, { workflow_id: 'nope' }, { deps: { children } })).rejects.toMatchObject({
      code: 'NotFound',
      retryable: false,
    });
  });
});
