/**
 * The runs list's filters, kept in the URL (so a view can be shared and survives a reload) and
 * turned into the API's query (`GET /v1/executions`).
 */

export interface RunFilters {
  status?: string;
  workflow_id?: string;
  /** A range ending now: `1h`, `24h`, `7d`, `30d`; or none. */
  range?: string;
  cursor?: string;
}

export const RANGES: Record<string, number> = {
  '1h': 3_600_000,
  '24h': 86_400_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};

const STATUSES = new Set(['queued', 'running', 'waiting', 'paused', 'completed', 'failed', 'canceled']);
const WORKFLOW_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The filters in a URL's query, each checked: a hand-edited URL cannot send the API nonsense. */
export function filtersFrom(search: string): RunFilters {
  const params = new URLSearchParams(search);
  const filters: RunFilters = {};
  const status = params.get('status');
  if (status && STATUSES.has(status)) filters.status = status;
  const workflow = params.get('workflow_id');
  if (workflow && WORKFLOW_ID.test(workflow)) filters.workflow_id = workflow;
  const range = params.get('range');
  if (range && range in RANGES) filters.range = range;
  const cursor = params.get('cursor');
  if (cursor && cursor.length <= 2048) filters.cursor = cursor;
  return filters;
}

/** The query string of the filters for the console's own URL (`?status=waiting&range=24h`). */
export function searchOf(filters: RunFilters): string {
  const params = new URLSearchParams();
  for (const key of ['status', 'workflow_id', 'range', 'cursor'] as const) {
    const value = filters[key];
    if (value) params.set(key, value);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The API's query for the filters at `now`: the range becomes `created_after`. */
export function apiQueryOf(filters: RunFilters, now: number, limit = 25): string {
  const params = new URLSearchParams({ limit: String(limit) });
  if (filters.status) params.set('status', filters.status);
  if (filters.workflow_id) params.set('workflow_id', filters.workflow_id);
  if (filters.range) params.set('created_after', new Date(now - RANGES[filters.range]!).toISOString());
  if (filters.cursor) params.set('cursor', filters.cursor);
  return params.toString();
}
