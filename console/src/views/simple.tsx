/** Listeners and the outbox: simple lists of what the API holds. */
import { useState } from 'preact/hooks';
import { api, type Page } from '../api.js';
import { LoadedList, Table } from '../components/list.js';
import { Status } from '../components/states.js';
import { useApi } from '../hooks.js';
import { when } from '../lib/format.js';
import { href } from '../router.js';

interface Listener {
  id: string;
  type: string;
  workflow_id: string;
  match: Record<string, unknown>;
  enabled?: boolean;
  last_fired_at?: string;
  next_fire_at?: string;
  fired?: number;
}

export function Listeners() {
  const list = useApi((signal) => api<Page<Listener>>('GET', '/v1/listeners?limit=100', { signal }), []);
  return (
    <section aria-labelledby="listeners-title">
      <header class="view-header">
        <h1 id="listeners-title">Listeners</h1>
      </header>
      <LoadedList
        loaded={list}
        items={(data) => data.items}
        empty="No listeners: runs start only through the API."
      >
        {(listeners) => (
          <Table columns={['Listener', 'Type', 'Workflow', 'Match', 'Fired']}>
            {listeners.map((l) => (
              <tr key={l.id}>
                <td>
                  {l.id}
                  {l.enabled === false ? <small class="muted"> (disabled)</small> : null}
                </td>
                <td>{l.type}</td>
                <td>
                  <a href={href(`/workflows/${encodeURIComponent(l.workflow_id)}`)}>{l.workflow_id}</a>
                </td>
                <td>
                  <code>{JSON.stringify(l.match)}</code>
                </td>
                <td>
                  {l.fired ?? 0}
                  {l.last_fired_at ? <small class="muted"> last {when(l.last_fired_at)}</small> : null}
                  {l.next_fire_at ? <small class="muted"> next {when(l.next_fire_at)}</small> : null}
                </td>
              </tr>
            ))}
          </Table>
        )}
      </LoadedList>
    </section>
  );
}

interface OutboxEntry {
  id: string;
  run_id: string;
  step_id: string;
  kind: string;
  person: string;
  channel: string;
  to: string;
  subject: string;
  text: string;
  status: string;
  attempts: number;
  last_error?: { code: string; message: string };
  created_at: string;
  link?: string;
}

export function Outbox() {
  const [cursor, setCursor] = useState<string>();
  const list = useApi(
    (signal) =>
      api<Page<OutboxEntry>>(
        'GET',
        `/v1/outbox?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        {
          signal,
        },
      ),
    [cursor],
    { refreshMs: 5000 },
  );
  return (
    <section aria-labelledby="outbox-title">
      <header class="view-header">
        <h1 id="outbox-title">Outbox</h1>
      </header>
      <LoadedList
        loaded={list}
        items={(data) => data.items}
        empty="No notifications yet: forms and approvals with people to tell send them here."
      >
        {(entries) => (
          <ul class="cards outbox">
            {entries.map((m) => (
              <li key={m.id} class="card" data-person={m.person} data-step={m.step_id}>
                <p>
                  <strong>{m.subject}</strong>{' '}
                  <Status
                    status={m.status === 'sent' ? 'completed' : m.status === 'failed' ? 'failed' : 'queued'}
                    label={m.status}
                  />
                </p>
                <p class="muted">
                  {m.channel} to {m.to} · {when(m.created_at)} ·{' '}
                  <a
                    href={href(`/runs/${encodeURIComponent(m.run_id)}?step=${encodeURIComponent(m.step_id)}`)}
                  >
                    {m.run_id}
                  </a>
                </p>
                {m.last_error ? (
                  <p class="error">
                    {m.last_error.code}: {m.last_error.message} (attempt {m.attempts})
                  </p>
                ) : null}
                <details>
                  <summary>Message</summary>
                  <pre>{m.text}</pre>
                </details>
                {m.link ? (
                  <a class="button" href={m.link}>
                    Open {m.person}’s link
                  </a>
                ) : null}
              </li>
            ))}
          </ul>
        )}
      </LoadedList>
      <nav class="pager" aria-label="Pages">
        {cursor ? (
          <button type="button" onClick={() => setCursor(undefined)}>
            Newest
          </button>
        ) : null}
        {list.data?.next_cursor ? (
          <button type="button" onClick={() => setCursor(list.data!.next_cursor!)}>
            Older
          </button>
        ) : null}
      </nav>
    </section>
  );
}
