/** What the list views share: a list the API answers, in whichever state it is, and a table of rows. */
import type { ComponentChildren } from 'preact';
import type { Loaded } from '../hooks.js';
import { Empty, Failure, Loading } from './states.js';

/**
 * A list the API answers: its failure (with a retry) while nothing was shown yet, a placeholder while
 * it loads, `empty` when it has no items, else what `children` makes of them. A failed refresh keeps
 * the items shown (useApi keeps the last data).
 */
export function LoadedList<D, T>({
  loaded,
  items,
  empty,
  children,
}: {
  loaded: Loaded<D>;
  items: (data: D) => readonly T[];
  empty: ComponentChildren;
  children: (items: readonly T[]) => ComponentChildren;
}) {
  if (loaded.error && loaded.data === undefined)
    return <Failure error={loaded.error} retry={loaded.reload} />;
  if (loaded.data === undefined) return <Loading />;
  const shown = items(loaded.data);
  return shown.length === 0 ? <Empty>{empty}</Empty> : children(shown);
}

/** A table in its scrolling wrapper, with one header row naming the columns. */
export function Table({
  class: className,
  columns,
  children,
}: {
  class?: string;
  columns: readonly string[];
  children: ComponentChildren;
}) {
  return (
    <div class="table-wrap">
      <table class={className}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
