/** `workflow`: runs another workflow as a child run and waits for it. */
import { z } from 'zod';
import { identifier } from '../definition/schema.js';
import { defineStepType } from './types.js';

export const workflowConfig = z
  .object({
    workflow_id: identifier,
    version: z
      .int()
      .min(1)
      .optional()
      .meta({ description: 'Default: the latest version when the step runs.' }),
    inputs: z.unknown().optional(),
  })
  .strict();
export type WorkflowConfig = z.infer<typeof workflowConfig>;

export const workflow = defineStepType({
  type: 'workflow',
  description: "Runs another workflow and waits for it; its output is the child's output; outcome `success`.",
  config: workflowConfig,
  action: false,
  outcomes: () => ['success'],
  execute: async (ctx) => {
    const { workflow_id, version, inputs } = ctx.config;
    // The key makes a repeated attempt (a retried Advance, a redelivery) find the child it already started.
    const { run_id } = await ctx.deps.children.start({
      parent_run_id: ctx.run.id,
      parent_step_id: ctx.step.id,
      visit: ctx.visit,
      workflow_id,
      ...(version !== undefined ? { version } : {}),
      inputs: inputs ?? {},
      idempotency_key: ctx.idempotencyKey,
    });
    return {
      status: 'waiting',
      wait: {
        kind: 'child',
        child_run_id: run_id,
        data: { workflow_id, ...(version !== undefined ? { version } : {}), child_run_id: run_id },
      },
    };
  },
});
