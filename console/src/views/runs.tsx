/** Runs: newest first, filtered by status, workflow and time (kept in the URL), paged, refreshed live. */
import { api, type Page, type Run, type RunSummary } from '../api.js';
import { LoadedList, Table } from '../components/list.js';
import { Status } from '../components/states.js';
import { useApi } from '../hooks.js';
import { apiQueryOf, filtersFrom, RANGES, type RunFilters, searchOf } from '../lib/filters.js';
import { ago, duration, statusLabel, when } from '../lib/format.js';
import { href, navigate } from '../router.js';

const STATUSES = ['queued', 'running', 'waiting', 'paused', 'completed', 'failed', 'canceled'];
const REFRESH_MS = 3000;

interface Row extends RunSummary {
  waitingFor?: Run['waiting'];
}

export function Runs({ search }: { search: string }) {
  const filters = filtersFrom(search);
  const workflows = useApi(
    (signal) => api<Page<{ id: string }>>('GET', '/v1/workflows?limit=100', { signal }),
    [],
  );
  const runs = useApi(
    async (signal) => {
      const page = await api<Page<RunSummary>>('GET', `/v1/executions?${apiQueryOf(filters, Date.now())}`, {
        signal,
      });
      // What a waiting run waits for is in the run itself: read it for those on this page only.
      const rows: Row[] = await Promise.all(
        page.items.map(async (run) =>
          run.status === 'waiting'
            ? {
                ...run,
                waitingFor: (
                  await api<Run>('GET', `/v1/executions/${encodeURIComponent(run.id)}`, { signal })
                ).waiting,
              }
            : run,
        ),
      );
      return { rows, next: page.next_cursor };
    },
    [search],
    { refreshMs: REFRESH_MS },
  );
  const set = (change: Partial<RunFilters>) => {
    const next = { ...filters, ...change };
    delete next.cursor;
    if (change.cursor) next.cursor = change.cursor;
    navigate(`/runs${searchOf(next)}`);
  };
  const now = Date.now();
  return (
    <section aria-labelledby="runs-title">
      <header class="view-header">
        <h1 id="runs-title">Runs</h1>
        <span class="live" aria-live="polite">
          {runs.error && runs.data ? 'refresh failed, retrying' : 'live'}
        </span>
      </header>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            value={filters.status ?? ''}
            onChange={(e) => set({ status: e.currentTarget.value || undefined })}
          >
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Workflow
          <select
            value={filters.workflow_id ?? ''}
            onChange={(e) => set({ workflow_id: e.currentTarget.value || undefined })}
          >
            <option value="">any</option>
            {(workflows.data?.items ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.id}
              </option>
            ))}
          </select>
        </label>
        <label>
          Started
          <select
            value={filters.range ?? ''}
            onChange={(e) => set({ range: e.currentTarget.value || undefined })}
          >
            <option value="">any time</option>
            {Object.keys(RANGES).map((r) => (
              <option key={r} value={r}>
                last {r}
              </option>
            ))}
          </select>
        </label>
      </form>
      <LoadedList
        loaded={runs}
        items={(data) => data.rows}
        empty={
          <>
            <p>
              No runs
              {filters.status || filters.workflow_id || filters.range ? ' match these filters' : ' yet'}.
            </p>
            <p>
              Start one from <a href={href('/workflows')}>Workflows</a>.
            </p>
          </>
        }
      >
        {(rows) => (
          <Table class="runs" columns={['Run', 'Status', 'Workflow', 'Trigger', 'Started', 'Updated']}>
            {rows.map((run) => (
              <tr key={run.id} data-run={run.id}>
                <td>
                  <a href={href(`/runs/${encodeURIComponent(run.id)}`)}>{run.id}</a>
                </td>
                <td>
                  <Status status={run.status} label={statusLabel(run.status, run.waitingFor)} />
                  {run.waitingFor?.length ? (
                    <small class="muted">
                      {' '}
                      {run.waitingFor.map((w) => `${w.type}: ${w.step_id}`).join(', ')}
                    </small>
                  ) : null}
                </td>
                <td>
                  {run.workflow_id} <small class="muted">v{run.workflow_version}</small>
                </td>
                <td>{run.trigger?.type ?? 'api'}</td>
                <td title={run.created_at}>{when(run.created_at)}</td>
                <td title={run.updated_at}>
                  {ago(run.updated_at, now)}
                  <small class="muted">
                    {' '}
                    ({duration(Date.parse(run.updated_at) - Date.parse(run.created_at))})
                  </small>
                </td>
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
      <nav class="pager" aria-label="Pages">
        {filters.cursor ? (
          <button type="button" onClick={() => set({})}>
            First page
          </button>
        ) : null}
        {runs.data?.next ? (
          <button type="button" onClick={() => set({ cursor: runs.data!.next! })}>
            Next page
          </button>
        ) : null}
      </nav>
    </section>
  );
}
