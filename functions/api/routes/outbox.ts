/**
 * `GET /v1/outbox`: the notifications sent to people (CONTRACT §8), newest first, a page at a time.
 * Everywhere it shows what each channel did. On one machine it is also the mailbox people read, so
 * an entry carries its personal link while the link works (derived on the spot, never stored) —
 * to a key that names no principal, or to that person's own key: a key that answers as one person
 * must not pick up another's link. In the cloud, links travel by mail only.
 */
import { z } from 'zod';
import type { OutboxEntry } from '../../../shared/ports/index.js';
import { personKey } from '../../../shared/storage/callback-token.js';
import type { ApiDeps } from '../deps.js';
import { queryParams } from '../params.js';
import { principalOf } from '../request.js';
import { json } from '../response.js';
import type { Router } from '../router.js';

export const outboxQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().min(1).max(2048).optional(),
});

export function outboxRoutes(router: Router, deps: ApiDeps): void {
  const o = deps.orchestrator;

  router.on('GET', '/v1/outbox', async (request) => {
    const page = await o.stores.outbox.list(queryParams(request, outboxQuery));
    const principal = principalOf(request.event);
    const mayOpen = (entry: OutboxEntry) =>
      o.notifier?.outboxIsMailbox === true &&
      (principal === undefined || personKey(principal) === personKey(entry.person));
    const items = await Promise.all(
      page.items.map(async (entry): Promise<OutboxEntry & { link?: string }> => {
        const link = mayOpen(entry) ? await o.notifier?.linkOf(entry) : undefined;
        return link ? { ...entry, link } : entry;
      }),
    );
    return json(200, { items, next_cursor: page.next_cursor ?? null });
  });
}
