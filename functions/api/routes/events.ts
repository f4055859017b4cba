/**
 * `POST /v1/events` (CONTRACT §6): puts up to 10 events on the project's event bus — PutEvents in
 * the cloud, the in-process bus on one machine — where every matching `eventbridge` listener fires.
 */
import { z } from 'zod';
import { MAX_ENTRIES, MAX_PUT_BYTES } from '../../../shared/triggers/bus-entries.js';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import type { OperationDoc } from '../operation.js';
import { jsonBody } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { eventsAccepted } from '../schemas.js';

export const putEventsBody = z.strictObject({
  entries: z
    .array(
      z.strictObject({
        source: z
          .string()
          .min(1)
          .max(256)
          // EventBridge reserves `aws.` sources for AWS services.
          .refine((source) => !source.startsWith('aws.'), 'must not start with "aws." (reserved for AWS)'),
        detail_type: z.string().min(1).max(128),
        /** A JSON object, as EventBridge's `Detail`. */
        detail: z.record(z.string(), z.unknown()),
        time: z.iso.datetime({ offset: true }).optional(),
        id: z.string().min(1).max(128).optional().meta({
          description:
            'The event id, and so its dedupe key: the same id again starts no second run of a listener. Default: a new id',
        }),
      }),
    )
    .min(1)
    .max(MAX_ENTRIES),
});

const doc: OperationDoc = {
  operationId: 'putEvents',
  tag: 'Listeners',
  summary: "Put events on the project's event bus: every matching eventbridge listener fires",
  body: {
    schema: putEventsBody,
    example: {
      entries: [{ source: 'shop.orders', detail_type: 'Order Placed', detail: { order_id: 'o-1' } }],
    },
  },
  replies: {
    200: {
      description: 'The id of each event, in order',
      schema: eventsAccepted,
      example: { entries: [{ event_id: '6f0c9d6e-1b7a-4c1e-9d2a-0b8e4f3a2c11' }] },
    },
  },
  refusals: {
    413: 'The entries are over 256 KB in all',
    422: 'The body is not valid (1 to 10 entries; a source that starts with "aws." is reserved)',
    503: 'This host has no event bus',
  },
};

export function eventRoutes(router: Router, deps: ApiDeps): void {
  router.on(
    'POST',
    '/v1/events',
    async (request) => {
      const { entries } = jsonBody(request, putEventsBody);
      const bytes = Buffer.byteLength(JSON.stringify(entries), 'utf8');
      if (bytes > MAX_PUT_BYTES) {
        throw new HttpError(
          413,
          'Content Too Large',
          `The entries are ${bytes} bytes; the limit is ${MAX_PUT_BYTES}`,
        );
      }
      if (!deps.bus) throw new HttpError(503, 'Service Unavailable', 'This host has no event bus');
      return json(200, { entries: await deps.bus.put(entries) });
    },
    doc,
  );
}
