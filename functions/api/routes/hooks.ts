/**
 * `POST /v1/hooks/{listener_id}` (CONTRACT §6): a webhook starts its listener's workflow. The
 * signature is the credential, checked over the raw bytes before anything is read or stored (401
 * otherwise); a listener without a signature asks for the API key instead, when the API has keys.
 * The fire goes through the one dispatcher, so a redelivery (same delivery id) starts no second run.
 */

import { z } from 'zod';
import { MAX_NESTING_DEPTH } from '../../../shared/definition/parse.js';
import { ConfigurationError } from '../../../shared/errors.js';
import { findRun } from '../../../shared/orchestration/orchestrator.js';
import { deliverTrigger, TRIGGER_FINISH_AFTER_MS } from '../../../shared/orchestration/triggers.js';
import type { SecretSource } from '../../../shared/ports/index.js';
import { type WebhookMatch, webhookSecretName } from '../../../shared/triggers/listener-match.js';
import type { ApiDeps } from '../deps.js';
import { badRequest, conflict, HttpError, notFound, unprocessable } from '../http-error.js';
import { requireApiKey } from '../middleware/api-key-auth.js';
import { jsonTextProblem } from '../middleware/body-parser.js';
import type { OperationDoc } from '../operation.js';
import { runStartedReplies } from '../replies.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { runView } from '../run-view.js';
import { bodyText, deliveryId, verifySignature } from '../webhook-signatures.js';
import { findListener } from './listeners.js';

/** Headers that carry the caller's credentials: never copied into a run. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'cookie', 'proxy-authorization']);

const doc: OperationDoc = {
  operationId: 'fireWebhook',
  tag: 'Listeners',
  summary: 'A webhook listener starts its workflow',
  description:
    'The signature (GitHub, Stripe, Standard Webhooks or HMAC-SHA256) is checked over the raw body before anything is stored; a listener without one asks for the API key when the API has keys. The same delivery again starts no second run.',
  body: {
    schema: z.unknown().meta({ description: 'Whatever the provider sends: JSON, a form, text' }),
    example: { customer: 'Ada', source: 'crm' },
  },
  replies: runStartedReplies({ again: 'The same delivery again: the run it started' }),
  refusals: {
    400: 'A JSON body that is not valid JSON',
    401: 'The signature is missing or not valid (or, without one, the API key)',
    404: 'No such webhook listener',
    409: 'The listener is disabled, or this delivery was received before and started no run',
    422: "The inputs do not fit the workflow's `inputs` schema",
    503: "The signature's secret is not set on this host; or the same delivery came moments ago and its run is not started yet (Retry-After)",
  },
};

export function hookRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;

  router.on(
    'POST',
    '/v1/hooks/{listener_id}',
    async (request) => {
      const id = request.params.listener_id!;
      const listener = await findListener(deps, id);
      if (listener?.type !== 'webhook') throw notFound(`No webhook listener '${id}'`);
      const bytes = request.event.rawBody ?? new Uint8Array();
      const signature = (listener.match as WebhookMatch).signature;
      if (signature) {
        const secret = await secretsOf(deps)
          .get(webhookSecretName(listener.match)!)
          .catch((error: unknown) => {
            if (!(error instanceof ConfigurationError)) throw error;
            // The operator's setting is missing, not the caller's fault; and no signature can be checked.
            throw new HttpError(
              503,
              'Service Unavailable',
              `The secret of webhook listener '${id}' is not set`,
            );
          });
        const valid = await verifySignature(signature.scheme, secret, {
          headers: request.headers,
          body: bytes,
          now: o.clock.now(),
        });
        if (!valid) {
          throw new HttpError(
            401,
            'Unauthorized',
            `The ${signature.scheme} signature is missing or not valid`,
          );
        }
      } else if (deps.apiKeys) {
        requireApiKey(request.headers, deps.apiKeys.keys);
      }
      const body = readBody(bytes, request.headers['content-type'] ?? '');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (!CREDENTIAL_HEADERS.has(name)) headers[name] = value;
      }
      const [outcome] = await deliverTrigger(o, {
        type: 'webhook',
        event_id: deliveryId(signature?.scheme, request.headers, bytes),
        listener_id: id,
        headers,
        body,
      });
      if (outcome === undefined) throw notFound(`No webhook listener '${id}'`);
      switch (outcome.outcome) {
        case 'skipped':
          throw conflict(`Webhook listener '${id}' is disabled`);
        case 'failed':
          throw unprocessable(outcome.error!.message, [{ path: 'inputs', message: outcome.error!.message }]);
        case 'duplicate': {
          if (outcome.run_id === undefined)
            throw conflict('This delivery was received before and started no run');
          const found = await findRun(o.stores.runs, outcome.run_id);
          // The same delivery under way in another request, or one whose start was cut off (a host
          // that died between its claim and the run): not a success to report. A sender that tries
          // again finds the run, or finishes its start once the claim is old enough.
          if (found === undefined) {
            throw new HttpError(
              503,
              'Service Unavailable',
              'This delivery was received moments ago and its run is not started yet: send it again',
              { headers: { 'retry-after': String(TRIGGER_FINISH_AFTER_MS / 1000) } },
            );
          }
          return json(200, await runView(o, found.state, { tokens: false }));
        }
        case 'started': {
          const { state } = await o.stores.runs.get(outcome.run_id!);
          return json(202, await runView(o, state, { tokens: false }), {
            location: `/v1/executions/${encodeURIComponent(state.id)}`,
          });
        }
      }
    },
    doc,
  );
}

/** JSON when it says so (400 when it is not), else the text; nothing for an empty body. */
function readBody(bytes: Uint8Array, contentType: string): unknown {
  if (bytes.length === 0) return null;
  if (!/^application\/([\w.+-]*\+)?json\b/i.test(contentType.trim())) {
    return Buffer.from(bytes).toString('utf8');
  }
  const json = bodyText(bytes);
  const problem = jsonTextProblem(json, MAX_NESTING_DEPTH);
  if (problem !== undefined) throw badRequest(problem);
  try {
    return JSON.parse(json) as unknown;
  } catch (error) {
    throw badRequest(`The body is not valid JSON: ${error instanceof Error ? error.message : 'not JSON'}`);
  }
}

function secretsOf(deps: ApiDeps): SecretSource {
  const secrets = deps.orchestrator.secrets;
  if (!secrets) throw new HttpError(503, 'Service Unavailable', 'This host has no secrets source');
  return secrets;
}
