/**
 * `GET /v1/outbox`: the notifications sent to people (CONTRACT §8), newest first, a page at a time.
 * On one machine it is the mailbox people read; everywhere it shows what each channel did. Each
 * entry carries its personal link while that link still works: derived on the spot, never stored.
 */
import { z } from 'zod';
import type { OutboxEntry } from '../../../shared/ports/index.js';
import type { ApiDeps } from '../deps.js';
import { queryParams } from '../params.js';
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
    const items = await Promise.all(
      page.items.map(async (entry): Promise<OutboxEntry & { link?: string }> => {
        const link = await o.notifier?.linkOf(entry);
        return link ? { ...entry, link } : entry;
      }),
    );
    return json(200, { items, next_cursor: page.next_cursor ?? null });
  });
}
