/** Workflows: the list, and one workflow's versions, YAML (with a diff between versions), graph and start form. */
import { useState } from 'preact/hooks';
import { ApiError, api, type Page, type WorkflowVersion } from '../api.js';
import { FieldForm } from '../components/field-form.js';
import { Graph } from '../components/graph.js';
import { LoadedList } from '../components/list.js';
import { Failure, Loading } from '../components/states.js';
import { useApi } from '../hooks.js';
import { lineDiff } from '../lib/diff.js';
import { fieldErrors, schemaFields } from '../lib/form-model.js';
import { when } from '../lib/format.js';
import { buildGraph } from '../lib/graph-model.js';
import { toYaml } from '../lib/yaml.js';
import { href, navigate } from '../router.js';

interface Summary {
  id: string;
  latest_version: number;
  name?: string;
  description?: string;
  updated_at: string;
  retired?: boolean;
}

export function Workflows() {
  const list = useApi((signal) => api<Page<Summary>>('GET', '/v1/workflows?limit=100', { signal }), []);
  return (
    <section aria-labelledby="workflows-title">
      <header class="view-header">
        <h1 id="workflows-title">Workflows</h1>
      </header>
      <LoadedList
        loaded={list}
        items={(data) => data.items}
        empty="No workflows yet: POST one to /v1/workflows."
      >
        {(workflows) => (
          <ul class="cards">
            {workflows.map((w) => (
              <li key={w.id} class="card">
                <a href={href(`/workflows/${encodeURIComponent(w.id)}`)}>
                  <strong>{w.name ?? w.id}</strong>
                </a>{' '}
                <span class="muted">
                  {w.id} · v{w.latest_version}
                  {w.retired ? ' · retired' : ''}
                </span>
                {w.description ? <p>{w.description}</p> : null}
              </li>
            ))}
          </ul>
        )}
      </LoadedList>
    </section>
  );
}

interface VersionInfo {
  version: number;
  created_at: string;
  content_hash?: string;
}

export function WorkflowDetail({ id, search }: { id: string; search: string }) {
  const params = new URLSearchParams(search);
  const asked = Number(params.get('version')) || undefined;
  const against = Number(params.get('diff')) || undefined;
  const path = `/v1/workflows/${encodeURIComponent(id)}`;
  const versions = useApi(
    (signal) => api<Page<VersionInfo>>('GET', `${path}/versions?limit=100`, { signal }),
    [id],
  );
  const shown = useApi(
    (signal) => api<WorkflowVersion>('GET', asked ? `${path}?version=${asked}` : path, { signal }),
    [id, asked],
  );
  const other = useApi(
    (signal) =>
      against
        ? api<WorkflowVersion>('GET', `${path}?version=${against}`, { signal })
        : Promise.resolve(undefined),
    [id, against],
  );
  if (shown.error) return <Failure error={shown.error} retry={shown.reload} />;
  if (!shown.data) return <Loading />;
  const workflow = shown.data;
  const go = (change: Record<string, number | undefined>) => {
    const next = new URLSearchParams(search);
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) next.delete(k);
      else next.set(k, String(v));
    }
    const text = next.toString();
    navigate(`/workflows/${encodeURIComponent(id)}${text ? `?${text}` : ''}`, true);
  };
  const yaml = toYaml(workflow.definition);
  return (
    <section aria-labelledby="workflow-title" class="workflow">
      <header class="view-header">
        <h1 id="workflow-title">
          {workflow.definition.name ?? workflow.id} <small class="muted">v{workflow.version}</small>
        </h1>
      </header>
      {workflow.definition.description ? <p>{workflow.definition.description}</p> : null}
      <div class="filters">
        <label>
          Version
          <select
            value={String(workflow.version)}
            onChange={(e) => go({ version: Number(e.currentTarget.value) })}
          >
            {(versions.data?.items ?? [{ version: workflow.version, created_at: workflow.created_at }]).map(
              (v) => (
                <option key={v.version} value={String(v.version)}>
                  v{v.version} · {when(v.created_at)}
                </option>
              ),
            )}
          </select>
        </label>
        <label>
          Compare with
          <select
            value={against ? String(against) : ''}
            onChange={(e) => go({ diff: Number(e.currentTarget.value) || undefined })}
          >
            <option value="">—</option>
            {(versions.data?.items ?? [])
              .filter((v) => v.version !== workflow.version)
              .map((v) => (
                <option key={v.version} value={String(v.version)}>
                  v{v.version}
                </option>
              ))}
          </select>
        </label>
      </div>
      <div class="run-grid">
        <div class="panel">
          <h2>Start a run</h2>
          <StartForm workflow={workflow} />
          <h2>Graph</h2>
          <Graph model={buildGraph(workflow.definition.steps as never, [])} />
        </div>
        <div class="panel">
          <h2>{against && other.data ? `Changes from v${against}` : 'YAML'}</h2>
          {against && other.data ? (
            <pre class="diff">
              {lineDiff(toYaml(other.data.definition), yaml).map((line, i) => (
                <span key={i} class={line.kind}>
                  {line.kind === 'added' ? '+ ' : line.kind === 'removed' ? '- ' : '  '}
                  {line.text}
                  {'\n'}
                </span>
              ))}
            </pre>
          ) : (
            <pre class="yaml">{yaml}</pre>
          )}
        </div>
      </div>
    </section>
  );
}

function StartForm({ workflow }: { workflow: WorkflowVersion }) {
  const fields = schemaFields(workflow.definition.inputs);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  return (
    <FieldForm
      key={`${workflow.id}-${workflow.version}`}
      fields={fields}
      errors={errors}
      busy={busy}
      submitLabel="Start"
      idPrefix="start"
      onSubmit={async (inputs) => {
        setBusy(true);
        try {
          const run = await api<{ id: string }>('POST', '/v1/executions', {
            body: { workflow_id: workflow.id, version: workflow.version, inputs },
          });
          navigate(`/runs/${encodeURIComponent(run.id)}`);
        } catch (error) {
          if (error instanceof ApiError) {
            const issues = error.problem.errors ?? [];
            setErrors(issues.length > 0 ? fieldErrors(fields, issues) : { '': error.message });
          }
        } finally {
          setBusy(false);
        }
      }}
    />
  );
}
