/** `ai_generate`: asks a model for JSON that must fit `json_schema`, retrying with the validation errors. */
import { z } from 'zod';
import { jsonSchemaDocument, templated } from '../definition/schema.js';
import { StepError } from '../errors.js';
import { defineStepType } from './types.js';

export const aiGenerateConfig = z
  .object({
    prompt: z.string().min(1).max(100_000).optional(),
    template_id: z.string().min(1).max(128).optional(),
    template_version: z.int().min(1).optional(),
    system: z.string().max(100_000).optional(),
    model: z.string().max(200).optional(),
    json_schema: jsonSchemaDocument,
    max_retries: z.int().min(0).max(10).default(2),
    temperature: templated(z.number().min(0).max(2)).optional(),
    timeout_s: templated(z.number().positive().max(900)).optional(),
  })
  .strict()
  .refine((c) => (c.prompt === undefined) !== (c.template_id === undefined), {
    message: 'give either prompt or template_id',
    path: ['prompt'],
  });
export type AiGenerateConfig = z.infer<typeof aiGenerateConfig>;

export const aiGenerate = defineStepType({
  type: 'ai_generate',
  description: 'Calls an AI model whose answer must be valid against json_schema; outcome `success`.',
  config: aiGenerateConfig,
  action: true,
  outcomes: () => ['success'],
  execute: async () => {
    throw new StepError('NotImplemented', 'being built');
  },
});
