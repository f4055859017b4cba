/** `wait`: a timer, for a number of seconds or until a time. */
import { z } from 'zod';
import { templated } from '../definition/schema.js';
import { StepError } from '../errors.js';
import { defineStepType } from './types.js';

export const waitConfig = z.union([
  z.object({ seconds: templated(z.number().min(0).max(31_536_000)) }).strict(),
  z.object({ until: z.string().min(1).meta({ description: 'An ISO-8601 time, may be templated.' }) }).strict(),
]);
export type WaitConfig = z.infer<typeof waitConfig>;

export const wait = defineStepType({
  type: 'wait',
  description: 'Waits a number of seconds or until a time; outcome `success`.',
  config: waitConfig,
  action: false,
  outcomes: () => ['success'],
  execute: async () => {
    throw new StepError('NotImplemented', 'being built');
  },
});
