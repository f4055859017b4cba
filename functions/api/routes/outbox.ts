/**
 * `GET /v1/outbox`: the notifications sent to people (CONTRACT §8), newest first, a page at a time.
 * On one machine it is the mailbox people read; everywhere it shows what each channel did. Each
 * entry carries its personal link while that link still works: derived on the spot, never stored.
 */
import { z } from 'zod';
import { NotificationStatus, NotifyChannel, type OutboxEntry } from '../../../shared/ports/index.js';
import type { ApiDeps } from '../deps.js';
import { RUN_ID } from '../examples.js';
import type { OperationDoc } from '../operation.js';
import { queryParams } from '../params.js';
import { json } from '../response.js';
import type { Router } from '../router.js';
import { page } from '../schemas.js';

export const outboxQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

const at = z.iso.datetime({ offset: true });

const outboxEntry = z
  .object({
    id: z.string(),
    run_id: z.string(),
    workflow_id: z.string(),
    step_id: z.string(),
    visit: z.number().int().min(1),
    kind: z.string().meta({ description: 'form or approval' }),
    person: z.string(),
    channel: z.enum(Object.values(NotifyChannel) as [NotifyChannel, ...NotifyChannel[]]),
    to: z.string().meta({ description: 'The e-mail address or the webhook URL' }),
    subject: z.string(),
    text: z.string(),
    details: z.record(z.string(), z.unknown()),
    expires_at: at.optional(),
    status: z.enum(Object.values(NotificationStatus) as [NotificationStatus, ...NotificationStatus[]]),
    attempts: z.number().int().min(0),
    last_error: z.object({ code: z.string(), message: z.string() }).optional(),
    next_attempt_at: at.optional(),
    created_at: at,
    updated_at: at,
    sent_at: at.optional(),
    link: z.string().optional().meta({ description: "The person's link, while it still works" }),
  })
  .meta({ id: 'OutboxEntry' });

const doc: OperationDoc = {
  operationId: 'listOutbox',
  tag: 'Callbacks',
  summary: 'The notifications sent to people, newest first (on one machine, the mailbox they read)',
  query: outboxQuery,
  replies: {
    200: {
      description: 'A page of notifications',
      schema: page(outboxEntry, 'OutboxPage'),
      example: {
        items: [
          {
            id: 'ntf_1',
            run_id: RUN_ID,
            workflow_id: 'greeting',
            step_id: 'review',
            visit: 1,
            kind: 'approval',
            person: 'lead@example.com',
            channel: 'email',
            to: 'lead@example.com',
            subject: 'Approval needed: review',
            text: 'Please approve the welcome mail.',
            details: {},
            status: 'sent',
            attempts: 1,
            created_at: '2026-01-05T09:30:00.000Z',
            updated_at: '2026-01-05T09:30:01.000Z',
            sent_at: '2026-01-05T09:30:01.000Z',
          },
        ],
        next_cursor: null,
      },
    },
  },
};

export function outboxRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;

  router.on(
    'GET',
    '/v1/outbox',
    async (request) => {
      const page = await o.stores.outbox.list(queryParams(request, outboxQuery));
      const items = await Promise.all(
        page.items.map(async (entry): Promise<OutboxEntry & { link?: string }> => {
          const link = await o.notifier?.linkOf(entry);
          return link ? { ...entry, link } : entry;
        }),
      );
      return json(200, { items, next_cursor: page.next_cursor ?? null });
    },
    doc,
  );
}
