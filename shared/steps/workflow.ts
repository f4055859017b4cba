/** `workflow`: runs another workflow as a child run and waits for it. */
import { z } from 'zod';
import { identifier } from '../definition/schema.js';
import { INPUTS_STORED, secretReads } from '../engine/inputs.js';
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

/**
 * How deep child runs may nest: a run started on its own is at depth 0, its child at 1. A workflow
 * that starts itself without an end (or two that start each other) would otherwise start runs for
 * ever, each a state machine execution and its invocations in the cloud: the step that would start
 * a child deeper than this fails instead.
 */
export const MAX_CHILD_DEPTH = 10;

export const workflow = defineStepType({
  type: 'workflow',
  description: "Runs another workflow and waits for it; its output is the child's output; outcome `success`.",
  config: workflowConfig,
  action: false,
  outcomes: () => ['success'],
  // The child's inputs are stored with it, and its output comes back as this step's: a secret
  // rendered into them would be stored twice, out of reach of this attempt's redaction.
  check: (config) => secretReads(config.inputs, 'inputs', INPUTS_STORED),
  execute: async (ctx) => {
    const { workflow_id, version, inputs } = ctx.config;
    const depth = ctx.depth + 1;
    if (depth > MAX_CHILD_DEPTH) {
      return {
        status: 'failed',
        error: {
          code: 'ChildDepthExceeded',
          message:
            `Step '${ctx.step.id}' would start '${workflow_id}' as a child run ${depth} levels deep, ` +
            `and child runs nest at most ${MAX_CHILD_DEPTH} deep: does a workflow start itself without an end?`,
          retryable: false,
        },
      };
    }
    // The key and attempt make a repeated start of this attempt (a retried Advance, a redelivery) find
    // the child it already started; the next attempt (after a StepTimeout canceled it) starts its own.
    const { run_id } = await ctx.deps.children.start({
      parent_run_id: ctx.run.id,
      parent_step_id: ctx.step.id,
      visit: ctx.visit,
      attempt: ctx.attempt,
      depth,
      root_run_id: ctx.treeRoot,
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
