/**
 * `POST /v1/events` (CONTRACT §6): puts up to 10 events on the project's event bus — PutEvents in
 * the cloud, the in-process bus on one machine — where every matching `eventbridge` listener fires.
 */
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { jsonBody } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';

/** PutEvents takes at most 10 entries and 256 KB in all. */
export const MAX_ENTRIES = 10;
export const MAX_EVENTS_BYTES = 256 * 1024;

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
        id: z.string().min(1).max(128).optional(),
      }),
    )
    .min(1)
    .max(MAX_ENTRIES),
});

export function eventRoutes(router: Router, deps: ApiDeps): void {
  router.on('POST', '/v1/events', async (request) => {
    const { entries } = jsonBody(request, putEventsBody);
    const bytes = Buffer.byteLength(JSON.stringify(entries), 'utf8');
    if (bytes > MAX_EVENTS_BYTES) {
      throw new HttpError(
        413,
        'Content Too Large',
        `The entries are ${bytes} bytes; the limit is ${MAX_EVENTS_BYTES}`,
      );
    }
    if (!deps.bus) throw new HttpError(503, 'Service Unavailable', 'This host has no event bus');
    return json(200, { entries: await deps.bus.put(entries) });
  });
}
