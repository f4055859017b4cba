/** `transform`: its output is the templated `output` value. */
import { z } from 'zod';
import { defineStepType } from './types.js';

export const transformConfig = z.object({ output: z.unknown() }).strict();
export type TransformConfig = z.infer<typeof transformConfig>;

export const transform = defineStepType({
  type: 'transform',
  pure: true,
  description: 'Shapes data: its output is the templated `output` value; outcome `success`.',
  config: transformConfig,
  action: true,
  outcomes: () => ['success'],
  execute: (ctx) => ({ status: 'completed', outcome: 'success', output: ctx.config.output }),
});
