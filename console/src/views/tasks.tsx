/** Tasks: the inbox of forms and approvals that wait, and the page behind a personal link. */
import { useState } from 'preact/hooks';
import { api, type Page, type Run, type RunSummary } from '../api.js';
import { LoadedList } from '../components/list.js';
import { Loading } from '../components/states.js';
import { Task, type TaskView } from '../components/task.js';
import { useApi } from '../hooks.js';
import { ago, when } from '../lib/format.js';
import { href } from '../router.js';

const REFRESH_MS = 5000;

export function Inbox() {
  const tasks = useApi(
    async (signal) => {
      const page = await api<Page<RunSummary>>('GET', '/v1/executions?status=waiting&limit=100', { signal });
      const runs = await Promise.all(
        page.items.map((r) => api<Run>('GET', `/v1/executions/${encodeURIComponent(r.id)}`, { signal })),
      );
      return runs.flatMap((run) =>
        run.waiting.filter((w) => w.type === 'form' || w.type === 'approval').map((wait) => ({ run, wait })),
      );
    },
    [],
    { refreshMs: REFRESH_MS },
  );
  const now = Date.now();
  return (
    <section aria-labelledby="tasks-title">
      <header class="view-header">
        <h1 id="tasks-title">Tasks</h1>
      </header>
      <LoadedList loaded={tasks} items={(data) => data} empty="Nothing waits for a person right now.">
        {(waits) => (
          <ul class="cards">
            {waits.map(({ run, wait }) => (
              <li key={`${run.id}-${wait.step_id}`} class="card">
                <a
                  href={href(`/runs/${encodeURIComponent(run.id)}?step=${encodeURIComponent(wait.step_id)}`)}
                >
                  <strong>{wait.title ?? wait.step_id}</strong>
                </a>
                <span class="muted">
                  {' '}
                  {wait.type} · {run.workflow_id} · waiting {ago(run.updated_at, now).replace(' ago', '')}
                </span>
                {wait.approvers ? <p class="muted">Approvers: {wait.approvers.join(', ')}</p> : null}
                {wait.expires_at ? <p class="muted">Answer by {when(wait.expires_at)}</p> : null}
              </li>
            ))}
          </ul>
        )}
      </LoadedList>
    </section>
  );
}

interface LinkTask extends TaskView {
  run_id: string;
  workflow_id: string;
  step_name?: string;
}

/** The task behind `/console/tasks/<token>`: no API key needed, the token is the credential. */
export function LinkedTask({ token }: { token: string }) {
  const [answered, setAnswered] = useState(false);
  const task = useApi(
    (signal) =>
      api<LinkTask>('GET', `/v1/callbacks/${encodeURIComponent(token)}`, { signal, anonymous: true }),
    [token],
  );
  if (answered) {
    return (
      <section class="state done" role="status">
        <h1>Thank you</h1>
        <p>Your answer was recorded. This link has now been used.</p>
      </section>
    );
  }
  if (task.error) {
    const error = task.error;
    return (
      <section class="state failure" role="alert">
        <h1>
          {error.status === 404
            ? error.problem.title === 'Not Found'
              ? 'Unknown link'
              : error.problem.title
            : 'This task cannot be answered'}
        </h1>
        <p>{error.problem.detail}</p>
      </section>
    );
  }
  if (!task.data) return <Loading />;
  const data = task.data;
  return (
    <div class="linked-task">
      <p class="muted">
        {data.workflow_id} · {data.step_name ?? data.step_id}
      </p>
      <Task
        task={{ ...data, title: data.title ?? data.step_name ?? data.step_id }}
        answer={(body) =>
          api('POST', `/v1/callbacks/${encodeURIComponent(token)}`, { body, anonymous: true })
        }
        onAnswered={() => setAnswered(true)}
      />
    </div>
  );
}
