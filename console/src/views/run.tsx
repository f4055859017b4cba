/**
 * One run: its graph (status and visits per step, taken and skipped branches), what it waits for
 * (answered in place), a timeline whose idle gaps are compressed, the events filterable by type, a
 * drawer per step, and the controls the API offers. Refreshed live until the run ends.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { api, offeredOperations, type Run, type RunEvent, type WorkflowVersion } from '../api.js';
import { Graph } from '../components/graph.js';
import { Table } from '../components/list.js';
import { Failure, Loading, Status } from '../components/states.js';
import { Task } from '../components/task.js';
import { useApi } from '../hooks.js';
import { duration, FINAL, statusLabel, when } from '../lib/format.js';
import { buildGraph, type HistoryRow } from '../lib/graph-model.js';
import { compressTimeline } from '../lib/timeline.js';
import { href, navigate } from '../router.js';

const REFRESH_MS = 1500;
const EVENTS_PAGE = 500;

interface Loaded {
  run: Run;
  workflow: WorkflowVersion;
  history: HistoryRow[];
  events: RunEvent[];
}

export function RunDetail({ id, search }: { id: string; search: string }) {
  const selected = new URLSearchParams(search).get('step') ?? undefined;
  // Events only grow: each refresh reads those after the last one seen.
  const events = useRef<{ id: string; list: RunEvent[] }>({ id, list: [] });
  const workflows = useRef(new Map<string, WorkflowVersion>());
  const loaded = useApi<Loaded>(
    async (signal) => {
      if (events.current.id !== id) events.current = { id, list: [] };
      const path = `/v1/executions/${encodeURIComponent(id)}`;
      const run = await api<Run>('GET', path, { signal });
      const key = `${run.workflow_id}@${run.workflow_version}`;
      const workflow =
        workflows.current.get(key) ??
        (await api<WorkflowVersion>(
          'GET',
          `/v1/workflows/${encodeURIComponent(run.workflow_id)}?version=${run.workflow_version}`,
          { signal },
        ));
      workflows.current.set(key, workflow);
      const history = await api<HistoryRow[]>('GET', `${path}/history`, { signal });
      let after: string = String(events.current.list.at(-1)?.seq ?? 0);
      for (;;) {
        const page = await api<{ events: RunEvent[]; next_cursor: string | null }>(
          'GET',
          `${path}/events?after=${encodeURIComponent(after)}&limit=${EVENTS_PAGE}`,
          { signal },
        );
        events.current.list = [...events.current.list, ...page.events];
        if (!page.next_cursor) break;
        after = page.next_cursor;
      }
      return { run, workflow, history, events: events.current.list };
    },
    [id],
    {
      refreshMs: REFRESH_MS,
      live: (data) => !data || !FINAL.has(data.run.status) || data.run.waiting.length > 0,
    },
  );
  const [offered, setOffered] = useState<Set<string>>(new Set());
  useEffect(() => {
    void offeredOperations().then(setOffered);
  }, []);

  if (loaded.error && !loaded.data) return <Failure error={loaded.error} retry={loaded.reload} />;
  if (!loaded.data) return <Loading />;
  const { run, workflow, history } = loaded.data;
  const select = (step: string | undefined) =>
    navigate(`/runs/${encodeURIComponent(id)}${step ? `?step=${encodeURIComponent(step)}` : ''}`, true);
  return (
    <section aria-labelledby="run-title" class="run">
      <header class="view-header">
        <h1 id="run-title">
          <span class="muted">Run</span> {run.id}
        </h1>
        <Status status={run.status} label={statusLabel(run.status, run.waiting)} />
        {loaded.error ? (
          // What is shown is as it was at the last refresh that worked: say so, not show it as now.
          <span class="live" role="status" aria-live="polite">
            refresh failed, retrying
          </span>
        ) : null}
      </header>
      <dl class="facts">
        <dt>Workflow</dt>
        <dd>
          <a href={href(`/workflows/${encodeURIComponent(run.workflow_id)}?version=${run.workflow_version}`)}>
            {run.workflow_id} v{run.workflow_version}
          </a>
        </dd>
        <dt>Started</dt>
        <dd title={run.started_at ?? run.created_at}>{when(run.started_at ?? run.created_at)}</dd>
        <dt>{run.ended_at ? 'Took' : 'Running for'}</dt>
        <dd>
          {duration(
            // A run under way has run until now, not until its last change (a wait of days showed 1 s).
            Math.max(0, (run.ended_at ? Date.parse(run.ended_at) : Date.now()) - Date.parse(run.created_at)),
          )}
        </dd>
        {run.usage && run.usage.ai_calls > 0 ? (
          <>
            <dt>AI</dt>
            <dd>
              {run.usage.ai_calls} calls, {run.usage.tokens_prompt + run.usage.tokens_output} tokens
              {run.usage.cost_usd === null ? '' : `, $${run.usage.cost_usd}`}
            </dd>
          </>
        ) : null}
        {run.rerun_of ? (
          <>
            <dt>Rerun of</dt>
            <dd>
              <a href={href(`/runs/${encodeURIComponent(run.rerun_of)}`)}>{run.rerun_of}</a>
            </dd>
          </>
        ) : null}
      </dl>
      <Controls run={run} offered={offered} onDone={loaded.reload} />
      {run.error ? (
        <div class="state failure" role="status">
          <strong>{run.error.code}</strong> {run.error.message}
          {run.compensated ? <p>Completed steps were compensated.</p> : null}
        </div>
      ) : null}
      {run.output !== undefined ? (
        <details class="output">
          <summary>Output</summary>
          <pre>{JSON.stringify(run.output, null, 2)}</pre>
        </details>
      ) : null}
      <div class="run-grid">
        <div class="panel">
          <h2>Graph</h2>
          <Graph
            model={buildGraph(workflow.definition.steps as never, history)}
            selected={selected}
            onSelect={select}
          />
        </div>
        <div class="panel">
          {run.waiting.length > 0 ? (
            <>
              <h2>Waiting for</h2>
              {run.waiting.map((wait) =>
                wait.type === 'form' || wait.type === 'approval' ? (
                  <Task
                    key={`${wait.step_id}-${wait.visit}`}
                    task={{ ...wait, fields: wait.fields as never }}
                    answer={(body) =>
                      api('POST', `/v1/executions/${encodeURIComponent(run.id)}/resume`, {
                        body: { step_id: wait.step_id, ...body },
                        headers: { 'x-flowrunner-via': 'console' },
                      })
                    }
                    onAnswered={loaded.reload}
                  />
                ) : (
                  <p key={wait.step_id}>
                    {wait.step_id}: {wait.type}
                    {wait.expires_at ? ` until ${when(wait.expires_at)}` : ''}
                  </p>
                ),
              )}
            </>
          ) : null}
          {selected ? (
            <StepDrawer
              step={selected}
              workflow={workflow}
              history={history}
              events={loaded.data.events}
              onClose={() => select(undefined)}
            />
          ) : (
            <p class="muted">Choose a step in the graph to see its input, output, errors and attempts.</p>
          )}
        </div>
      </div>
      <Events events={loaded.data.events} />
    </section>
  );
}

function Controls({ run, offered, onDone }: { run: Run; offered: Set<string>; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string>();
  const act = async (action: string, confirmText?: string) => {
    if (confirmText && !window.confirm(confirmText)) return;
    setBusy(true);
    setProblem(undefined);
    try {
      const answer = await api<{ id?: string; run_id?: string }>(
        'POST',
        `/v1/executions/${encodeURIComponent(run.id)}/${action}`,
        { body: {} },
      );
      if (action === 'rerun' && answer?.id) navigate(`/runs/${encodeURIComponent(answer.id)}`);
      onDone();
    } catch (error) {
      setProblem((error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const has = (action: string) => offered.has(`POST /v1/executions/{id}/${action}`);
  const final = FINAL.has(run.status);
  const buttons: Array<[string, string, string | undefined]> = [];
  if (run.status === 'running' || run.status === 'waiting') buttons.push(['pause', 'Pause', undefined]);
  if (run.status === 'paused') buttons.push(['unpause', 'Unpause', undefined]);
  if (!final) buttons.push(['cancel', 'Cancel', 'Cancel this run? Completed steps are compensated.']);
  if (run.status === 'failed' && has('redrive')) buttons.push(['redrive', 'Redrive', undefined]);
  if (final && has('rerun')) buttons.push(['rerun', 'Rerun', undefined]);
  return (
    <div class="actions controls">
      {buttons.map(([action, label, confirmText]) => (
        <button
          key={action}
          type="button"
          class={action === 'cancel' ? 'danger' : ''}
          disabled={busy}
          onClick={() => act(action, confirmText)}
        >
          {label}
        </button>
      ))}
      <p class="error" role={problem ? 'alert' : undefined}>
        {problem ?? ''}
      </p>
    </div>
  );
}

function StepDrawer({
  step,
  workflow,
  history,
  events,
  onClose,
}: {
  step: string;
  workflow: WorkflowVersion;
  history: HistoryRow[];
  events: RunEvent[];
  onClose: () => void;
}) {
  const definition = workflow.definition.steps.find((s) => s.id === step);
  const visits = history.filter((h) => h.step_id === step);
  const ai = events.filter((e) => e.step_id === step && e.type === 'ai.response');
  const retries = events.filter((e) => e.step_id === step && e.type === 'step.retrying');
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [step]);
  return (
    <aside class="drawer" aria-labelledby="drawer-title">
      <header>
        <h2 id="drawer-title" tabIndex={-1} ref={heading}>
          {definition?.name ?? step} <small class="muted">{definition?.type}</small>
        </h2>
        <button type="button" onClick={onClose} aria-label="Close the step">
          ×
        </button>
      </header>
      <details open>
        <summary>Input (config as written)</summary>
        <pre>{JSON.stringify(definition?.config ?? {}, null, 2)}</pre>
      </details>
      {visits.length === 0 ? <p class="muted">Not entered yet.</p> : null}
      {visits.map((visit) => (
        <div class="visit" key={`${visit.visit}`}>
          <h3>
            Visit {visit.visit} <Status status={visit.status} />{' '}
            <small class="muted">
              attempt {visit.attempt ?? 1}
              {visit.outcome ? ` · ${visit.outcome}` : ''}
              {visit.started_at && visit.ended_at
                ? ` · ${duration(Date.parse(visit.ended_at) - Date.parse(visit.started_at))}`
                : ''}
            </small>
          </h3>
          {visit.error ? (
            <p class="error">
              <strong>{visit.error.code}</strong> {visit.error.message}
            </p>
          ) : null}
          {visit.output !== undefined ? (
            <details>
              <summary>Output</summary>
              <pre>{JSON.stringify(visit.output, null, 2)}</pre>
            </details>
          ) : null}
        </div>
      ))}
      {retries.length > 0 ? <p>{retries.length} retries</p> : null}
      {ai.length > 0 ? (
        <table class="compact">
          <caption>AI calls</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Tokens</th>
              <th scope="col">Latency</th>
              <th scope="col">Cost</th>
            </tr>
          </thead>
          <tbody>
            {ai.map((e) => (
              <tr key={e.seq}>
                <td>{String(e.data.model ?? '')}</td>
                <td>
                  {String(e.data.tokens_prompt ?? 0)} + {String(e.data.tokens_output ?? 0)}
                </td>
                <td>{duration(Number(e.data.latency_ms ?? 0))}</td>
                <td>
                  {e.data.cost_usd === null || e.data.cost_usd === undefined
                    ? '–'
                    : `$${String(e.data.cost_usd)}`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </aside>
  );
}

function Events({ events }: { events: RunEvent[] }) {
  const [type, setType] = useState('');
  const types = useMemo(() => [...new Set(events.map((e) => e.type))].sort(), [events]);
  const timeline = useMemo(() => compressTimeline(events), [events]);
  const shown = type ? events.filter((e) => e.type === type) : events;
  return (
    <section class="panel" aria-labelledby="events-title">
      <h2 id="events-title">Timeline</h2>
      <div class="timeline" aria-hidden="true">
        {timeline.points.map((p) => (
          <span
            key={p.event.seq}
            class={`dot ${p.event.type.replace('.', '-')} ${type && p.event.type !== type ? 'dim' : ''}`}
            style={{ left: `${p.x * 100}%` }}
            title={`${p.event.type} ${when(p.event.at)}`}
          />
        ))}
        {timeline.gaps.map((g) => (
          <span key={g.x} class="gap" style={{ left: `${g.x * 100}%` }}>
            {duration(g.ms)}
          </span>
        ))}
      </div>
      <label class="inline">
        Event type{' '}
        <select value={type} onChange={(e) => setType(e.currentTarget.value)}>
          <option value="">all ({events.length})</option>
          {types.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <Table class="compact events" columns={['#', 'At', 'Type', 'Step', 'Data']}>
        {shown.map((e) => (
          <tr key={e.seq}>
            <td>{e.seq}</td>
            <td title={e.at}>{when(e.at)}</td>
            <td>{e.type}</td>
            <td>{e.step_id ?? ''}</td>
            <td>
              <code>{Object.keys(e.data).length > 0 ? JSON.stringify(e.data) : ''}</code>
            </td>
          </tr>
        ))}
      </Table>
    </section>
  );
}
