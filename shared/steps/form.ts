/** `form`: waits for a person to submit values, checked against the declared fields. */
import { z } from 'zod';
import { templated } from '../definition/schema.js';
import { StepError } from '../errors.js';
import { defineStepType } from './types.js';

export const formFieldSchema = z
  .object({
    key: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a letter or _ followed by letters, digits or _'),
    type: z.enum(['string', 'number', 'integer', 'boolean', 'object', 'array']).default('string'),
    required: z.boolean().default(false),
    pattern: z.string().optional().meta({ description: 'A regular expression that strings must match.' }),
    enum: z.array(z.unknown()).min(1).optional(),
    min: z.number().optional().meta({ description: 'Least value (numbers) or length (strings, arrays).' }),
    max: z.number().optional().meta({ description: 'Greatest value (numbers) or length (strings, arrays).' }),
    default: z.unknown().optional(),
    label: z.string().max(200).optional(),
  })
  .strict();

export const formConfig = z
  .object({
    fields: z.array(formFieldSchema).min(1),
    title: z.string().max(200).optional(),
    message: z.string().max(4000).optional(),
    timeout_s: templated(z.number().positive()).optional(),
  })
  .strict();

export type FormConfig = z.infer<typeof formConfig>;
export type FormField = z.infer<typeof formFieldSchema>;

export const form = defineStepType({
  type: 'form',
  description: 'Waits for a person to fill a form; outcomes `submitted` and `timeout`.',
  config: formConfig,
  action: false,
  outcomes: () => ['submitted', 'timeout'],
  execute: async () => {
    throw new StepError('NotImplemented', 'form is being built');
  },
});
