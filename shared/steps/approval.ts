/** `approval`: waits for approvers' decisions; outcomes `approved`, `rejected`, `timeout`. */
import { z } from 'zod';
import { templated } from '../definition/schema.js';
import { StepError } from '../errors.js';
import { defineStepType } from './types.js';

export const approvalConfig = z
  .object({
    approvers: z.array(z.string().min(3).max(320)).min(1).meta({ description: 'Who may decide (e-mail addresses).' }),
    min_approvals: z.int().min(1).default(1),
    message: z.string().max(4000).optional(),
    timeout_s: templated(z.number().positive()).optional(),
  })
  .strict();
export type ApprovalConfig = z.infer<typeof approvalConfig>;

export const approval = defineStepType({
  type: 'approval',
  description: 'Asks approvers to approve or reject; outcomes `approved`, `rejected`, `timeout`.',
  config: approvalConfig,
  action: false,
  outcomes: () => ['approved', 'rejected', 'timeout'],
  execute: async () => {
    throw new StepError('NotImplemented', 'being built');
  },
});
