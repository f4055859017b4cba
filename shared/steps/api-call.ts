/** `api_call`: one HTTP request, guarded against SSRF, with an idempotency key per visit. */
import { z } from 'zod';
import { templated } from '../definition/schema.js';
import { StepError } from '../errors.js';
import { defineStepType } from './types.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

export const apiCallConfig = z
  .object({
    method: z.enum(HTTP_METHODS).default('GET'),
    base_url: z.string().max(2048).optional().meta({ description: 'Usually set by a service; `url` is relative to it.' }),
    url: z.string().min(1).max(8192),
    headers: z.record(z.string(), z.string()).optional(),
    query: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    body: z.unknown().optional(),
    timeout_s: templated(z.number().positive().max(900)).default(30),
    expect: z
      .array(z.union([z.int().min(100).max(599), z.string().regex(/^[1-5](xx|\d\d)$/)]))
      .min(1)
      .optional()
      .meta({ description: 'Statuses that count as success, e.g. [200, "2xx", 404]; default 2xx.' }),
    max_response_bytes: z.int().min(1).max(10_485_760).default(1_048_576),
  })
  .strict();
export type ApiCallConfig = z.infer<typeof apiCallConfig>;

export const apiCall = defineStepType({
  type: 'api_call',
  description: 'Calls an HTTP API; outcome `success`. 429, 5xx and network errors can be retried.',
  config: apiCallConfig,
  action: true,
  outcomes: () => ['success'],
  execute: async () => {
    throw new StepError('NotImplemented', 'being built');
  },
});
