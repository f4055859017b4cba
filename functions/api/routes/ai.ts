/** `POST /v1/ai/infer`: one AI call `{prompt, json_schema?, model?}`, its answer checked against the schema. */
import { z } from 'zod';
import { StepError } from '../../../shared/errors.js';
import { checkJsonAnswer, validatorFor } from '../../../shared/json-schema/index.js';
import { costOf } from '../../../shared/steps/ai-generate.js';
import type { ApiDeps } from '../deps.js';
import { HttpError, unprocessable } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { jsonBody } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { inferAnswer } from '../schemas.js';

const INFER_TIMEOUT_MS = 30_000;

export const inferBody = z.strictObject({
  prompt: z.string().min(1).max(100_000),
  system: z.string().max(100_000).optional(),
  json_schema: z.record(z.string(), z.unknown()).optional(),
  model: z.string().min(1).max(200).optional(),
  temperature: z.number().min(0).max(2).optional(),
});

const COLOUR = { type: 'object', required: ['colour'], properties: { colour: { type: 'string' } } };

const doc: OperationDoc = {
  operationId: 'inferJson',
  tag: 'AI',
  summary: 'One model call whose answer is checked against a JSON Schema',
  body: { schema: inferBody, example: { prompt: 'Name a colour of the sea', json_schema: COLOUR } },
  replies: {
    200: {
      description: "The model's answer, valid against `json_schema` (default: any object)",
      schema: inferAnswer,
      example: {
        output: { colour: 'teal' },
        provider: 'openai',
        model: 'gpt-4o-mini',
        tokens_prompt: 31,
        tokens_output: 7,
        latency_ms: 640,
        cost_usd: 0.0000089,
      },
    },
  },
  refusals: {
    422: 'The body is not valid, or `json_schema` is not a JSON Schema',
    502: "The model's answer did not fit `json_schema`, or the model refused",
    503: 'The model is busy or slow: try again (Retry-After)',
  },
};

export function aiRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;

  router.on(
    'POST',
    '/v1/ai/infer',
    async (request) => {
      const body = jsonBody(request, inferBody);
      const schema = body.json_schema ?? { type: 'object' };
      const validate = (() => {
        try {
          return validatorFor(schema);
        } catch (error) {
          throw unprocessable('json_schema is not a valid JSON Schema', [
            { path: 'json_schema', message: error instanceof Error ? error.message : 'does not compile' },
          ]);
        }
      })();
      const provider = o.ai;
      const started = performance.now();
      try {
        const response = await provider.generate({
          ...(body.model === undefined ? {} : { model: body.model }),
          messages: [
            ...(body.system === undefined ? [] : [{ role: 'system' as const, content: body.system }]),
            { role: 'user', content: body.prompt },
          ],
          json_schema: schema,
          ...(body.temperature === undefined ? {} : { temperature: body.temperature }),
          timeoutMs: INFER_TIMEOUT_MS,
        });
        const answer = checkJsonAnswer(response.text, validate);
        const meta = {
          provider: provider.name,
          model: response.model,
          tokens_prompt: response.tokens_prompt,
          tokens_output: response.tokens_output,
          latency_ms: Math.round(performance.now() - started),
          ...costOf(response),
        };
        if (!answer.ok) {
          throw new HttpError(502, 'Bad Gateway', "The model's answer did not fit json_schema", {
            issues: answer.issues,
          });
        }
        return json(200, { output: answer.value, ...meta });
      } catch (error) {
        if (error instanceof StepError) {
          // The provider's own failure: a busy or slow model is worth retrying, anything else is not.
          throw error.retryable
            ? new HttpError(503, 'Service Unavailable', error.message, { headers: { 'retry-after': '1' } })
            : new HttpError(502, 'Bad Gateway', error.message);
        }
        throw error;
      }
    },
    doc,
  );
}
