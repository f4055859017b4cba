/** `workflow`: runs another workflow as a child run and waits for it. */
import { z } from 'zod';
import { identifier } from '../definition/schema.js';
import { StepError } from '../errors.js';
import { defineStepType } from './types.js';

export const workflowConfig = z
  .object({
    workflow_id: identifier,
    version: z.int().min(1).optional().meta({ description: 'Default: the latest version when the step runs.' }),
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
  execute: async () => {
    throw new StepError('NotImplemented', 'being built');
  },
});
