/**
 * Listing by id through a by-kind index (workflows, prompt templates, listeners): each item of a kind
 * carries `kind`, and the index sorts them by `id`; a page asks for one more than it shows to know
 * whether another follows, and its cursor names the last id shown.
 */
import type { Page, PageRequest } from '../../ports/index.js';
import { type CursorCodec, positionString } from '../cursor.js';
import { pageLimit } from '../paging.js';
import { type Item, S } from './attributes.js';
import type { Table } from './table.js';

export interface KindIndex {
  index: string;
  kind: string;
  /** The cursor scope of the list. */
  scope: readonly unknown[];
  /** The `id` attribute of an id (default: the id itself). */
  partition?: (id: string) => string;
}

export async function pageByKind<T extends { id: string }>(
  table: Table,
  cursors: CursorCodec,
  of: KindIndex,
  page: PageRequest | undefined,
  from: (item: Item) => T,
): Promise<Page<T>> {
  const limit = pageLimit(page);
  const after =
    page?.cursor === undefined ? undefined : positionString(cursors.decode(of.scope, page.cursor), 'id');
  const items = await table.query(
    {
      IndexName: of.index,
      KeyConditionExpression: after === undefined ? 'kind = :k' : 'kind = :k AND id > :after',
      ExpressionAttributeValues: {
        ':k': S(of.kind),
        ...(after === undefined ? {} : { ':after': S(of.partition?.(after) ?? after) }),
      },
      Limit: limit + 1,
    },
    (found) => found.length > limit,
  );
  const shown = items.slice(0, limit).map(from);
  const result: Page<T> = { items: shown };
  if (items.length > limit) result.next_cursor = cursors.encode(of.scope, { id: shown.at(-1)!.id });
  return result;
}
