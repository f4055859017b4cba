/** The console's frame: navigation, the API key prompt (on 401), and the view the path names. */
import { useEffect, useState } from 'preact/hooks';
import { api, apiKey, apiUrl, onKeyChange, setApiKey } from './api.js';
import { href, match, useLocation } from './router.js';
import { RunDetail } from './views/run.js';
import { Runs } from './views/runs.js';
import { Listeners, Outbox } from './views/simple.js';
import { Inbox, LinkedTask } from './views/tasks.js';
import { WorkflowDetail, Workflows } from './views/workflows.js';

const NAV: Array<[string, string]> = [
  ['/runs', 'Runs'],
  ['/tasks', 'Tasks'],
  ['/workflows', 'Workflows'],
  ['/listeners', 'Listeners'],
  ['/outbox', 'Outbox'],
];

/** Does the API want a key (and is the one we hold wrong)? Asked once, and again when the key changes. */
function useKeyNeeded(): [boolean, () => void] {
  const [needed, setNeeded] = useState(false);
  const [tick, setTick] = useState(0);
  useEffect(() => onKeyChange(() => setTick((t) => t + 1)), []);
  useEffect(() => {
    api('GET', '/v1/workflows?limit=1').then(
      () => setNeeded(false),
      (error: { status?: number }) => setNeeded(error.status === 401),
    );
  }, [tick]);
  return [needed, () => setTick((t) => t + 1)];
}

function KeyPrompt() {
  const [value, setValue] = useState('');
  return (
    <form
      class="key-prompt"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) setApiKey(value.trim());
      }}
    >
      <h2>This API needs a key</h2>
      <p>
        {apiUrl()} answers 401{apiKey() ? ' to the key this tab holds' : ''}. The key is kept in this tab only
        (session storage) and sent to the API alone.
      </p>
      <label for="api-key">API key</label>
      <input
        id="api-key"
        type="password"
        autoComplete="off"
        value={value}
        onInput={(e) => setValue(e.currentTarget.value)}
      />
      <button type="submit">Use this key</button>
    </form>
  );
}

/** The view a console path names. */
function viewOf(path: string, search: string): preact.ComponentChild {
  if (path === '/' || path === '/runs') return <Runs search={search} />;
  const run = match('/runs/:id', path);
  if (run) return <RunDetail id={run.id!} search={search} />;
  if (path === '/tasks') return <Inbox />;
  if (path === '/workflows') return <Workflows />;
  const workflow = match('/workflows/:id', path);
  if (workflow) return <WorkflowDetail id={workflow.id!} search={search} />;
  if (path === '/listeners') return <Listeners />;
  if (path === '/outbox') return <Outbox />;
  return <p class="state">There is no page at {path}.</p>;
}

export function App() {
  const { path, search } = useLocation();
  const linked = match('/tasks/:token', path);
  const [keyNeeded] = useKeyNeeded();
  // A personal link is the person's page: no navigation, no key.
  if (linked) {
    return (
      <main id="main" class="person">
        <LinkedTask token={linked.token!} />
      </main>
    );
  }
  const view = viewOf(path, search);
  const section = `/${path.split('/')[1] ?? ''}`;
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href('/runs')}>
          Flowrunner
        </a>
        <nav aria-label="Console">
          {NAV.map(([to, label]) => (
            <a
              key={to}
              href={href(to)}
              aria-current={section === to || (section === '/' && to === '/runs') ? 'page' : undefined}
            >
              {label}
            </a>
          ))}
        </nav>
        {apiKey() ? (
          <button type="button" class="link" onClick={() => setApiKey(null)}>
            Forget key
          </button>
        ) : null}
      </header>
      <main id="main">{keyNeeded ? <KeyPrompt /> : view}</main>
    </>
  );
}
