/** `conditional`: branches on an expression (`when`) or on the first true case (`cases`). */
import { z } from 'zod';
import { StepError } from '../errors.js';
import { defineStepType } from './types.js';

const expression = z.string().min(1).max(10_000).meta({ description: 'A JSONata expression.' });

export const conditionalConfig = z.union([
  z.object({ when: expression }).strict(),
  z
    .object({ cases: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/), expression) })
    .strict()
    .refine((c) => Object.keys(c.cases).length > 0, { message: 'give at least one case', path: ['cases'] })
    .refine((c) => !('default' in c.cases), { message: "'default' is the outcome when no case is true", path: ['cases'] }),
]);
export type ConditionalConfig = z.infer<typeof conditionalConfig>;

export const conditional = defineStepType({
  type: 'conditional',
  description: 'Branches on an expression: outcomes `true`/`false`, or the first true case name, or `default`.',
  config: conditionalConfig,
  action: false,
  expressionFields: ['when', 'cases'],
  outcomes: (config) => ('when' in config ? ['true', 'false'] : [...Object.keys(config.cases), 'default']),
  execute: async () => {
    throw new StepError('NotImplemented', 'being built');
  },
});
