/** `fail`: ends the run as failed with a chosen error. */
import { z } from 'zod';
import { defineStepType } from './types.js';

export const failConfig = z
  .object({
    error: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/, 'must be an error code such as ApprovalTimeout'),
    message: z.string().max(4000).optional(),
  })
  .strict();
export type FailConfig = z.infer<typeof failConfig>;

export const fail = defineStepType({
  type: 'fail',
  description: 'Fails the run with the given error code and message.',
  config: failConfig,
  action: false,
  outcomes: () => [],
  execute: async (ctx) => {
    const { error, message } = ctx.config;
    return {
      status: 'failed',
      error: {
        code: error,
        message: message ?? `The workflow failed at step '${ctx.step.id}' with ${error}`,
        retryable: false,
      },
    };
  },
});
