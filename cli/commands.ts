/**
 * Every `flowrunner` command, defined once. Each imports its module when it runs, not at start-up:
 * `--help` loads none of them, and `status` does not load the engine that `run` needs.
 */
import { type CommandContext, type CommandSpec, FOLLOW_RECONNECT_MS, Section } from './spec.js';

const str = (value: string | boolean | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** The server options of a command's parsed values. */
async function server(context: CommandContext) {
  const { serverFrom } = await import('./remote.js');
  return serverFrom(
    {
      ...(str(context.values.url) ? { url: str(context.values.url)! } : {}),
      ...(str(context.values['api-key']) ? { 'api-key': str(context.values['api-key'])! } : {}),
      json: context.values.json === true,
    },
    context.env,
  );
}

/** Runs a server command; refusals already printed become their exit code. */
async function remotely(
  context: CommandContext,
  fn: (s: Awaited<ReturnType<typeof server>>) => Promise<number>,
): Promise<number> {
  const { remote } = await import('./remote.js');
  const options = await server(context);
  return remote(() => fn(options));
}

const BY = {
  type: 'string',
  value: 'WHO',
  description: 'who acts, recorded on the event (an API key with a principal acts as that principal only)',
} as const;

const control = (
  action: 'cancel' | 'pause' | 'unpause' | 'redrive',
  summary: string,
  details?: string,
): CommandSpec => ({
  name: action,
  args: '<run_id>',
  summary,
  ...(details ? { details } : {}),
  arity: [1, 1],
  options: {
    by: BY,
    ...(action === 'cancel'
      ? { reason: { type: 'string', value: 'TEXT', description: "why: the run's error message" } }
      : {}),
  },
  server: true,
  section: Section.runs,
  run: (c) =>
    remotely(c, async (s) => {
      const { controlCommand } = await import('./operate.js');
      return controlCommand(c.terminal, s, action, c.positionals[0]!, {
        ...(str(c.values.by) ? { by: str(c.values.by)! } : {}),
        ...(str(c.values.reason) ? { reason: str(c.values.reason)! } : {}),
      });
    }),
});

const LISTENER_SUMMARIES = {
  list: 'List the listeners that start workflows, with what they fired, skipped and failed.',
  show: 'Show one listener.',
  create: 'Create a listener from a YAML or JSON file.',
  enable: 'Enable a listener: it fires again.',
  disable: 'Disable a listener: it keeps its settings and fires nothing.',
  delete: 'Delete a listener (and its schedule).',
} as const;

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'validate',
    args: '<file>',
    summary: 'Check a workflow and report every problem with its line.',
    details: [
      'Checks a workflow (YAML or JSON) without running it; it reports every problem with its path and',
      'line, and warns about ai_generate schemas that cannot be sent with strict structured output.',
      'When a server answers at the URL, it also checks that the prompt templates the workflow names',
      'exist there. --json prints {"valid", "errors": [...], "warnings": [...]}.',
    ].join('\n'),
    arity: [1, 1],
    server: true,
    exitCodes: '0 valid (warnings or not); 1 not valid; 2 the file cannot be read.',
    section: Section.local,
    run: async (c) => {
      const { validateCommand } = await import('./validate.js');
      return validateCommand(c.terminal, c.positionals[0]!, c.values.json === true, await server(c));
    },
  },
  {
    name: 'run',
    args: '<file>',
    summary: 'Run a workflow on this machine, in memory, and print its output as JSON.',
    details: [
      'On a terminal it shows each step as it runs and asks for form fields (each checked as it is',
      'typed) and approvals, of the run and of its child runs; otherwise a run that waits for a person',
      'stops with exit code 3. Workflows in the same folder are loaded too, for `workflow` steps.',
      'Environment: MOCK_AI_MODE, MOCK_AI_SEED, MOCK_AI_ANSWERS, FLOWRUNNER_SECRET_<NAME>,',
      'FLOWRUNNER_ALLOW_PRIVATE_NETWORK (default true).',
    ].join('\n'),
    arity: [1, 1],
    options: {
      input: { type: 'string', value: 'JSON', description: "the run's inputs (default {})" },
      profile: {
        type: 'string',
        value: 'JSON',
        description: 'caller data, visible to expressions as `profile`',
      },
    },
    exitCodes:
      '0 completed; 1 failed or canceled; 2 bad arguments or an invalid workflow; 3 waiting for a person without a terminal to ask.',
    section: Section.local,
    run: async (c) => {
      const { runCommand } = await import('./run.js');
      const { localSecretsFromEnv } = await import('./secrets.js');
      return runCommand(c.terminal, {
        file: c.positionals[0]!,
        ...(str(c.values.input) === undefined ? {} : { input: str(c.values.input)! }),
        ...(str(c.values.profile) === undefined ? {} : { profile: str(c.values.profile)! }),
        env: c.env,
        secrets: localSecretsFromEnv(c.env),
      });
    },
  },
  {
    name: 'invoke',
    args: '<handler> <event.json>',
    summary: 'Run a Lambda handler on this machine on a sample event (events/) and print what it answers.',
    details: [
      'Handlers: api — the HTTP API (API Gateway v2 events: events/api/*.json, events/callback/*.json),',
      'printing {statusCode, headers, body}; trigger — the trigger function (events/s3/*.json,',
      'events/eventbridge/*.json, events/schedule/*.json: S3 Object Created through EventBridge, an S3',
      'notification, a bus event, a Scheduler fire), printing what each listener did: started (with',
      'the run), duplicate, skipped or failed. Both run over the local runtime with examples/ loaded.',
      'The data lives in FLOWRUNNER_DATA_DIR when it is set (do not share it with a running server): its',
      'listeners fire. Otherwise a temporary folder is used, removed afterwards, with the example',
      'listeners of examples/listeners/ in it.',
    ].join('\n'),
    arity: [2, 2],
    section: Section.local,
    run: async (c) => {
      const { invokeCommand } = await import('./invoke.js');
      return invokeCommand(c.terminal, c.positionals[0]!, c.positionals[1]!, c.env);
    },
  },
  {
    name: 'start',
    args: '<workflow_id>',
    summary: 'Start a run of a stored workflow and print it.',
    arity: [1, 1],
    options: {
      input: { type: 'string', value: 'JSON', description: "the run's inputs (default {})" },
      'idempotency-key': {
        type: 'string',
        value: 'K',
        description: 'the same key and body start the run only once',
      },
    },
    server: true,
    section: Section.runs,
    run: (c) =>
      remotely(c, async (s) => {
        const { startCommand } = await import('./remote.js');
        return startCommand(c.terminal, s, c.positionals[0]!, {
          ...(str(c.values.input) === undefined ? {} : { input: str(c.values.input)! }),
          ...(str(c.values['idempotency-key']) ? { idempotencyKey: str(c.values['idempotency-key'])! } : {}),
        });
      }),
  },
  {
    name: 'status',
    args: '<run_id>',
    summary: 'Show a run: its status, what it waits for (with callback tokens), its output or error.',
    arity: [1, 1],
    server: true,
    exitCodes:
      '0 the run completed or is still going; 4 it failed or was canceled; 1 the server refused; 2 bad arguments or no server.',
    section: Section.runs,
    run: (c) =>
      remotely(c, async (s) => {
        const { statusCommand } = await import('./remote.js');
        return statusCommand(c.terminal, s, c.positionals[0]!);
      }),
  },
  {
    name: 'runs list',
    summary: 'List runs, newest first.',
    arity: [0, 0],
    options: {
      status: {
        type: 'string',
        value: 'S',
        description:
          'only runs in this status (queued, running, waiting, paused, completed, failed, canceled)',
      },
      workflow: { type: 'string', value: 'ID', description: 'only runs of this workflow' },
      since: {
        type: 'string',
        value: 'WHEN',
        description: 'only runs created after a time (ISO-8601) or a duration ago (15m, 2h, 7d)',
      },
      limit: { type: 'string', value: 'N', description: 'at most N runs (default 25, at most 1000)' },
    },
    server: true,
    section: Section.runs,
    run: (c) =>
      remotely(c, async (s) => {
        const { runsListCommand } = await import('./operate.js');
        return runsListCommand(c.terminal, s, {
          ...(str(c.values.status) ? { status: str(c.values.status)! } : {}),
          ...(str(c.values.workflow) ? { workflow: str(c.values.workflow)! } : {}),
          ...(str(c.values.since) !== undefined ? { since: str(c.values.since)! } : {}),
          ...(str(c.values.limit) !== undefined ? { limit: str(c.values.limit)! } : {}),
        });
      }),
  },
  {
    name: 'resume',
    args: '<run_id>',
    summary: 'Answer a waiting step: a form with --input, an approval with --approve or --reject.',
    arity: [1, 1],
    options: {
      step: { type: 'string', value: 'S', description: 'the waiting step (needed when several wait)' },
      input: {
        type: 'string',
        value: 'JSON',
        description: 'the form\'s fields, e.g. \'{"email":"a@example.com"}\'',
      },
      approve: { type: 'boolean', description: 'approve (with --approver)' },
      reject: { type: 'boolean', description: 'reject (with --approver)' },
      approver: { type: 'string', value: 'E', description: "who decides; one of the step's approvers" },
      comment: { type: 'string', value: 'C', description: 'a comment for the decision' },
    },
    server: true,
    section: Section.runs,
    run: (c) =>
      remotely(c, async (s) => {
        const { resumeCommand } = await import('./remote.js');
        const { step, input, approve, reject, approver, comment } = c.values;
        return resumeCommand(c.terminal, s, c.positionals[0]!, {
          ...(str(step) ? { step: str(step)! } : {}),
          ...(str(input) !== undefined ? { input: str(input)! } : {}),
          ...(approve === true ? { approve: true } : {}),
          ...(reject === true ? { reject: true } : {}),
          ...(str(approver) ? { approver: str(approver)! } : {}),
          ...(str(comment) ? { comment: str(comment)! } : {}),
        });
      }),
  },
  control('cancel', 'Cancel a run; the steps it completed are compensated in reverse order.'),
  control('pause', 'Hold a run: steps under way finish, nothing new starts until it is unpaused.'),
  control('unpause', 'Let a paused run go on.'),
  control(
    'redrive',
    'Continue a failed run from where it stopped, once its cause is fixed.',
    'The steps that failed or were interrupted run again; completed steps keep their outputs and\nare not run again. A compensated run cannot be redriven: rerun it.',
  ),
  {
    name: 'rerun',
    args: '<run_id>',
    summary: "Start a new run of the same workflow, with the run's inputs and version unless given.",
    arity: [1, 1],
    options: {
      input: { type: 'string', value: 'JSON', description: 'other inputs for the new run' },
      version: { type: 'string', value: 'N', description: 'another version of the workflow' },
      'idempotency-key': {
        type: 'string',
        value: 'K',
        description: 'the same key and body start the rerun only once',
      },
    },
    server: true,
    section: Section.runs,
    run: (c) =>
      remotely(c, async (s) => {
        const { rerunCommand } = await import('./operate.js');
        return rerunCommand(c.terminal, s, c.positionals[0]!, {
          ...(str(c.values.input) !== undefined ? { input: str(c.values.input)! } : {}),
          ...(str(c.values.version) !== undefined ? { version: str(c.values.version)! } : {}),
          ...(str(c.values['idempotency-key']) ? { idempotencyKey: str(c.values['idempotency-key'])! } : {}),
        });
      }),
  },
  {
    name: 'logs',
    args: '<run_id>',
    summary: "Print a run's events; with --follow, stream them until the run ends.",
    arity: [1, 1],
    options: {
      follow: {
        type: 'boolean',
        short: 'f',
        description: `stream new events until the run ends; when the server goes away (a restart), reconnect for up to ${FOLLOW_RECONNECT_MS / 1000} s and go on after the last event shown`,
      },
    },
    server: true,
    section: Section.runs,
    run: (c) =>
      remotely(c, async (s) => {
        const { logsCommand } = await import('./remote.js');
        return logsCommand(c.terminal, s, c.positionals[0]!, c.values.follow === true);
      }),
  },
  {
    name: 'workflows list',
    summary: 'List the stored workflows with their latest version.',
    arity: [0, 0],
    server: true,
    section: Section.workflows,
    run: (c) =>
      remotely(c, async (s) => {
        const { workflowsListCommand } = await import('./operate.js');
        return workflowsListCommand(c.terminal, s);
      }),
  },
  {
    name: 'workflows get',
    args: '<workflow_id>',
    summary: "Print a workflow's definition as YAML (the latest version unless --version).",
    arity: [1, 1],
    options: { version: { type: 'string', value: 'N', description: 'that version' } },
    server: true,
    section: Section.workflows,
    run: (c) =>
      remotely(c, async (s) => {
        const { workflowGetCommand } = await import('./operate.js');
        return workflowGetCommand(c.terminal, s, c.positionals[0]!, str(c.values.version));
      }),
  },
  {
    name: 'workflows apply',
    args: '<file>...',
    summary: "Create each file's workflow, or add a version when its content changed; report what changed.",
    details:
      'Every file is validated first; nothing is sent unless all are valid. A file whose content\nequals the latest version adds no version ("unchanged").',
    arity: [1, Number.POSITIVE_INFINITY],
    server: true,
    exitCodes:
      '0 applied; 1 a file is not valid (nothing applied) or the server refused; 2 bad arguments, an unreadable file, or no server.',
    section: Section.workflows,
    run: (c) =>
      remotely(c, async (s) => {
        const { workflowsApplyCommand } = await import('./operate.js');
        return workflowsApplyCommand(c.terminal, s, c.positionals);
      }),
  },
  {
    name: 'workflows versions',
    args: '<workflow_id>',
    summary: "List a workflow's versions, newest first, with their content hashes.",
    arity: [1, 1],
    server: true,
    section: Section.workflows,
    run: (c) =>
      remotely(c, async (s) => {
        const { workflowVersionsCommand } = await import('./operate.js');
        return workflowVersionsCommand(c.terminal, s, c.positionals[0]!);
      }),
  },
  {
    name: 'workflows retire',
    args: '<workflow_id>',
    summary: 'Retire a workflow: it starts no new runs; runs under way finish. A new version brings it back.',
    arity: [1, 1],
    server: true,
    section: Section.workflows,
    run: (c) =>
      remotely(c, async (s) => {
        const { workflowRetireCommand } = await import('./operate.js');
        return workflowRetireCommand(c.terminal, s, c.positionals[0]!);
      }),
  },
  ...(['list', 'show', 'create', 'enable', 'disable', 'delete'] as const).map(
    (action): CommandSpec => ({
      name: `listeners ${action}`,
      ...(action === 'list' ? {} : { args: action === 'create' ? '<file>' : '<listener_id>' }),
      summary: LISTENER_SUMMARIES[action],
      ...(action === 'create'
        ? {
            details:
              'A listener file is YAML or JSON: {id?, type, workflow_id, version?, match, inputs?, enabled?}\n(docs/triggers.md).',
          }
        : {}),
      arity: action === 'list' ? [0, 0] : [1, 1],
      server: true,
      section: Section.triggers,
      run: (c) =>
        remotely(c, async (s) => {
          const { listenersCommand } = await import('./triggers.js');
          return listenersCommand(c.terminal, s, action, c.positionals[0]);
        }),
    }),
  ),
  {
    name: 'events put',
    summary: "Put an event on the project's event bus: every matching eventbridge listener fires.",
    arity: [0, 0],
    options: {
      source: { type: 'string', value: 'S', description: "the event's source (required)" },
      'detail-type': { type: 'string', value: 'T', description: "the event's detail-type (required)" },
      detail: { type: 'string', value: 'JSON', description: "the event's detail (default {})" },
      id: { type: 'string', value: 'ID', description: 'the event id (default: a new one)' },
      time: { type: 'string', value: 'ISO', description: "the event's time (default: now)" },
    },
    server: true,
    section: Section.triggers,
    run: (c) =>
      remotely(c, async (s) => {
        const { eventsPutCommand } = await import('./triggers.js');
        const options: Record<string, string> = {};
        for (const key of ['source', 'detail-type', 'detail', 'id', 'time']) {
          const value = str(c.values[key]);
          if (value !== undefined) options[key] = value;
        }
        return eventsPutCommand(c.terminal, s, options);
      }),
  },
  {
    name: 'completion',
    args: '<bash|zsh>',
    summary: 'Print a shell completion script.',
    details:
      'bash: `source <(flowrunner completion bash)` (e.g. in ~/.bashrc)\nzsh:  `flowrunner completion zsh > ~/.zfunc/_flowrunner` with ~/.zfunc in fpath, then `compinit`',
    arity: [1, 1],
    section: Section.shell,
    run: async (c) => {
      const shell = c.positionals[0];
      if (shell !== 'bash' && shell !== 'zsh') {
        c.terminal.err(`No completion for '${shell}': choose bash or zsh.`);
        return 2;
      }
      const { bashCompletion, zshCompletion } = await import('./completion.js');
      c.terminal.out((shell === 'bash' ? bashCompletion : zshCompletion)(COMMANDS).trimEnd());
      return 0;
    },
  },
];
