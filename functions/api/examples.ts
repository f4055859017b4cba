/**
 * Sample values the operations' examples share: one workflow, one run waiting at its form. They
 * are shown by /docs; the OpenAPI test checks each example against its schema.
 */

export const RUN_ID = 'run_01JH5Q4W3ZK9M2V7XB8C6D4E2F';
const AT = '2026-01-05T09:30:00.000Z';
const LATER = '2026-01-05T09:30:02.000Z';
const HASH = '9f2c5a1e0b7d4c3a8e6f1d2b4a7c9e0f3b5d8a1c6e4f7b2d9a0c3e5f8b1d4a7c';

/** A two-step workflow: a form, then a transform of what was entered. */
export const WORKFLOW = {
  schema_version: '1.0',
  id: 'greeting',
  name: 'Greet a customer',
  inputs: { type: 'object', required: ['customer'], properties: { customer: { type: 'string' } } },
  steps: [
    {
      id: 'ask',
      type: 'form',
      config: { fields: [{ key: 'email', type: 'string', required: true }] },
      next: 'greet',
    },
    {
      id: 'greet',
      type: 'transform',
      config: { output: { to: '{{ steps.ask.output.email }}', text: 'Hello {{ inputs.customer }}' } },
    },
  ],
};

export const WORKFLOW_YAML = `schema_version: "1.0"
id: greeting
name: Greet a customer
inputs:
  type: object
  required: [customer]
  properties: { customer: { type: string } }
steps:
  - id: ask
    type: form
    config:
      fields: [{ key: email, type: string, required: true }]
    next: greet
  - id: greet
    type: transform
    config:
      output: { to: "{{ steps.ask.output.email }}", text: "Hello {{ inputs.customer }}" }
`;

export const WORKFLOW_VERSION = {
  id: 'greeting',
  version: 2,
  created_at: AT,
  retired: false,
  definition: WORKFLOW,
};

export const WORKFLOW_SUMMARY = {
  id: 'greeting',
  latest_version: 2,
  name: 'Greet a customer',
  created_at: '2026-01-02T08:00:00.000Z',
  updated_at: AT,
};

export const VERSION_INFO = { version: 2, created_at: AT, content_hash: HASH };

/** The run waiting at its form, as GET /v1/executions/{id} shows it. */
export const RUN = {
  id: RUN_ID,
  workflow_id: 'greeting',
  workflow_version: 2,
  status: 'waiting',
  waiting: [
    {
      step_id: 'ask',
      type: 'form',
      visit: 1,
      fields: [{ key: 'email', type: 'string', required: true }],
      callback_token: 'cb_3q2Zt8XkWm1rN0pL7vYs4hJd',
    },
  ],
  created_at: AT,
  started_at: AT,
  updated_at: LATER,
  usage: { tokens_prompt: 0, tokens_output: 0, cost_usd: 0, ai_calls: 0 },
};

export const RUN_SUMMARY = {
  id: RUN_ID,
  workflow_id: 'greeting',
  workflow_version: 2,
  status: 'waiting',
  created_at: AT,
  updated_at: LATER,
};

export const HISTORY = [
  { step_id: 'ask', type: 'form', visit: 1, status: 'waiting', attempt: 1, started_at: AT },
];

export const EVENTS = {
  events: [
    { seq: 1, type: 'run.created', at: AT, data: {} },
    { seq: 2, type: 'run.started', at: AT, data: {} },
    { seq: 3, type: 'step.started', at: AT, step_id: 'ask', data: { visit: 1, attempt: 1 } },
    { seq: 4, type: 'step.waiting', at: LATER, step_id: 'ask', data: { visit: 1 } },
  ],
  next_cursor: null,
};

export const CONTEXT = {
  inputs: { customer: 'Ada' },
  static: {},
  profile: null,
  steps: { ask: { status: 'waiting', visit: 1 }, greet: { status: 'pending', visit: 0 } },
  run: { id: RUN_ID, workflow_id: 'greeting', workflow_version: 2, started_at: AT },
};

export const ARTIFACT = { name: 'report.csv', size: 2048, content_type: 'text/csv', updated_at: LATER };

export const LISTENER = {
  id: 'greeting-hook',
  type: 'webhook',
  workflow_id: 'greeting',
  match: { signature: { scheme: 'github', secret: '{{ secrets.GITHUB_HOOK }}' } },
  enabled: true,
  created_at: AT,
  updated_at: AT,
  fired: 3,
  skipped: 0,
  failed: 0,
  last_fired_at: LATER,
  last_run_id: RUN_ID,
};
