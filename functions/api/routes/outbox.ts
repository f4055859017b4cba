/**
 * `GET /v1/outbox`: the notifications sent to people (CONTRACT §8), newest first, a page at a time.
 * Everywhere it shows what each channel did. On one machine it is also the mailbox people read, so
 * an entry carries its personal link while the link works (derived on the spot, never stored) —
 * to a key that names no principal, or to that person's own key: a key that answers as one person
 * must not pick up another's link. In the cloud, links travel by mail only.
 */
import { z } from 'zod';
import { NotificationStatus, NotifyChannel, type OutboxEntry } from '../../../shared/ports/index.js';
import { personKey } from '../../../shared/storage/callback-token.js';
import type { ApiDeps } from '../deps.js';
import { RUN_ID } from '../examples.js';
import type { OperationDoc } from '../operation.js';
import { queryParams } from '../params.js';
import { principalOf } from '../request.js';
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
      const found = await o.stores.outbox.list(queryParams(request, outboxQuery));
      const principal = principalOf(request.event);
      // Links only where the outbox is the mailbox (one machine), and a key naming a principal sees its own.
      const mayOpen = (entry: OutboxEntry) =>
        o.notifier?.outboxIsMailbox === true &&
        (principal === undefined || personKey(principal) === personKey(entry.person));
      const items = await Promise.all(
        found.items.map(async (entry): Promise<OutboxEntry & { link?: string }> => {
          const link = mayOpen(entry) ? await o.notifier?.linkOf(entry) : undefined;
          return link ? { ...entry, link } : entry;
        }),
      );
      return json(200, { items, next_cursor: found.next_cursor ?? null });
    },
    doc,
  );
}
