import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../../../shared/definition/validate.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { errorsOf, onboarding, onboardingYaml, problemsOf, transformStep, workflowWith } from './helpers.js';

const knownTypes = createStepRegistry().names().join(', ');

describe('validateWorkflow › the CONTRACT example', () => {
  it('accepts the onboarding workflow written in YAML', () => {
    const result = validateWorkflow(onboardingYaml);
    expect(result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.workflow?.id).toBe('onboarding');
    expect(result.workflow?.steps.map((s) => s.id)).toEqual([
      'collect',
      'draft',
      'review',
      'send',
      'give_up',
    ]);
  });

  it('accepts the same workflow written in JSON, and as data', () => {
    expect(validateWorkflow(JSON.stringify(onboarding(), null, 2)).errors).toEqual([]);
    expect(validateWorkflow(onboarding()).errors).toEqual([]);
  });

  it('fills in defaults and merges the service settings under the step config', () => {
    const workflow = validateWorkflow(onboardingYaml).workflow!;
    const draft = workflow.steps[1]!;
    expect(draft.retry).toEqual({ max_attempts: 3, backoff_s: 1, backoff_rate: 2, max_backoff_s: 300 });
    const send = workflow.steps[3]!;
    expect(send.config).toMatchObject({
      method: 'POST',
      base_url: 'https://mail.example.com',
      url: '/v1/send',
      headers: { Authorization: 'Bearer {{ secrets.mail_token }}' },
      timeout_s: 30,
    });
    expect(send.compensate?.config).toMatchObject({
      base_url: 'https://mail.example.com',
      url: '/v1/recall',
    });
  });

  it('lets a service setting stand where the step relies on a type default', () => {
    const doc = onboarding();
    (doc.services as Record<string, Record<string, unknown>>).mailer!.method = 'PUT';
    delete (doc.steps[3]!.config as Record<string, unknown>).method;
    const workflow = validateWorkflow(doc).workflow!;
    expect(workflow.steps[3]!.config.method).toBe('PUT');
  });
});

describe('validateWorkflow › structure › workflow fields', () => {
  it('names each missing required field', () => {
    expect(problemsOf({ name: 'x' })).toEqual([
      "schema_version: missing required field 'schema_version'",
      "id: missing required field 'id'",
      "steps: missing required field 'steps'",
    ]);
  });

  it('says a document that is not a mapping is not a workflow', () => {
    expect(problemsOf('- a\n- b\n')).toEqual([
      '(root): a workflow must be an object (a YAML mapping) with schema_version, id and steps; got a list',
    ]);
    expect(problemsOf(42)).toHaveLength(1);
  });

  it('asks for schema_version as a string, since YAML reads 1.0 as a number', () => {
    const errors = errorsOf(
      'schema_version: 1.0\nid: a\nsteps:\n  - {id: a, type: transform, config: {output: 1}}\n',
    );
    expect(errors).toEqual([
      {
        path: 'schema_version',
        message: 'schema_version must be a string such as "1.0"; in YAML, quote it (schema_version: "1.0")',
        line: 1,
        column: 1,
      },
    ]);
  });

  it('checks the form of schema_version', () => {
    expect(problemsOf(workflowWith([transformStep('a')], { schema_version: 'one' }))).toEqual([
      'schema_version: must be a version such as "1.0"',
    ]);
  });

  it('checks the workflow id against its pattern', () => {
    const problems = problemsOf(workflowWith([transformStep('a')], { id: 'Onboarding!' }));
    expect(problems).toEqual([
      'id: must match ^[a-z0-9][a-z0-9_-]{0,63}$ (lower case letters, digits, _ and -)',
    ]);
  });

  it('bounds name and description', () => {
    const problems = problemsOf(
      workflowWith([transformStep('a')], { name: 'n'.repeat(201), description: 'd'.repeat(4001) }),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^name: /);
    expect(problems[1]).toMatch(/^description: /);
  });

  it('wants inputs, static and services to be objects', () => {
    const problems = problemsOf(
      workflowWith([transformStep('a')], { inputs: 'x', static: [1], services: 3 }),
    );
    expect(problems).toEqual([
      'inputs: expected an object, got a string',
      'static: expected an object, got a list',
      'services: expected an object, got an integer',
    ]);
  });

  it('checks service names and that each service is a set of settings', () => {
    const problems = problemsOf(
      workflowWith([transformStep('a')], { services: { 'Bad Name': {}, mailer: 'x' } }),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(/^services\["Bad Name"\]: the key 'Bad Name' is not allowed: must match/),
    );
    expect(problems).toContainEqual('services.mailer: expected an object, got a string');
  });

  it('checks start_step against the id pattern', () => {
    expect(problemsOf(workflowWith([transformStep('a')], { start_step: 'A' }))).toEqual([
      'start_step: must match ^[a-z0-9][a-z0-9_-]{0,63}$ (lower case letters, digits, _ and -)',
    ]);
  });

  it('accepts any output template: a placeholder, an object or a number', () => {
    for (const output of ['{{ steps.a.output }}', { total: '{{ steps.a.output }}' }, 3]) {
      expect(errorsOf(workflowWith([transformStep('a')], { output }))).toEqual([]);
    }
  });

  it('needs at least one step', () => {
    expect(problemsOf(workflowWith([]))).toEqual([expect.stringMatching(/^steps: Too small/)]);
  });

  it('names an unknown top-level field where it is written', () => {
    const errors = errorsOf(
      'schema_version: "1.0"\nid: a\nstpes: []\nsteps:\n  - {id: a, type: transform, config: {output: 1}}\n',
    );
    expect(errors).toEqual([{ path: 'stpes', message: "unknown field 'stpes'", line: 3, column: 1 }]);
  });
});

describe('validateWorkflow › structure › step fields', () => {
  it('accepts every common field of a step', () => {
    const step = {
      id: 'call',
      type: 'api_call',
      name: 'Call the API',
      config: { url: 'https://api.example.com/x' },
      next: 'done',
      retry: { max_attempts: 5, backoff_s: 2, backoff_rate: 1.5, max_backoff_s: 60 },
      timeout_s: 10,
      on_error: 'done',
      compensate: { type: 'api_call', config: { method: 'DELETE', url: 'https://api.example.com/x' } },
      max_visits: 3,
    };
    expect(errorsOf(workflowWith([step, transformStep('done')]))).toEqual([]);
  });

  it('reports each bad common field at its own path', () => {
    const step = {
      id: 'Bad',
      type: 'transform',
      name: 7,
      config: { output: 1 },
      retry: { max_attempts: 0, jitter: true },
      timeout_s: -1,
      on_error: 'X',
      max_visits: 0,
      colour: 'red',
    };
    const paths = errorsOf(workflowWith([step])).map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'steps[0].id',
        'steps[0].name',
        'steps[0].retry.max_attempts',
        'steps[0].retry.jitter',
        'steps[0].timeout_s',
        'steps[0].on_error',
        'steps[0].max_visits',
        'steps[0].colour',
      ]),
    );
  });

  it('says which step types exist when a type is unknown', () => {
    const errors = errorsOf(
      'schema_version: "1.0"\nid: a\nsteps:\n  - id: a\n    type: emial\n    config: {}\n',
    );
    expect(errors).toEqual([
      {
        path: 'steps[0].type',
        message: `unknown step type 'emial'; known types: ${knownTypes}`,
        line: 5,
        column: 5,
      },
    ]);
  });

  it('still checks the common fields of a step whose type is unknown', () => {
    const step = { id: 'Bad Id', type: 'emial', config: {}, next: 5, colour: 'red' };
    expect(problemsOf(workflowWith([step]))).toEqual([
      `steps[0].type: unknown step type 'emial'; known types: ${knownTypes}`,
      expect.stringMatching(/^steps\[0\]\.id: must match/),
      expect.stringMatching(/^steps\[0\]\.next: next must be a step id/),
      "steps[0].colour: unknown field 'colour'",
    ]);
  });

  it('says a step without a type needs one', () => {
    expect(problemsOf(workflowWith([{ id: 'a', config: {} }]))).toEqual([
      `steps[0].type: missing required field 'type'; known types: ${knownTypes}`,
    ]);
  });

  it('says a step must be an object', () => {
    expect(problemsOf(workflowWith(['a', null]))).toEqual([
      'steps[0]: each step must be an object with id, type and config; got a string',
      'steps[1]: each step must be an object with id, type and config; got null',
    ]);
  });

  it('accepts a compensate action of an action type, with a service', () => {
    const step = {
      id: 'a',
      type: 'transform',
      config: { output: 1 },
      compensate: { type: 'transform', config: { output: 2 } },
    };
    expect(errorsOf(workflowWith([step]))).toEqual([]);
  });

  it('refuses a compensate action of a type that is not an action', () => {
    const step = {
      ...transformStep('a'),
      compensate: { type: 'approval', config: { approvers: ['a@b.c'] } },
    };
    expect(problemsOf(workflowWith([step]))).toEqual([
      expect.stringMatching(
        /^steps\[0\]\.compensate\.type: a approval step cannot undo another step; compensate with an action type \(action types: .*api_call/,
      ),
    ]);
  });

  it('reports the config issues of a compensate action', () => {
    const step = { ...transformStep('a'), compensate: { type: 'api_call', config: { method: 'POST' } } };
    expect(problemsOf(workflowWith([step]))).toEqual([
      "steps[0].compensate.config.url: missing required field 'url'",
    ]);
  });
});

describe('validateWorkflow › structure › next', () => {
  it('accepts a step id, a list of step ids, a map of outcomes, and null', () => {
    const steps = (next: unknown) => [
      { id: 'check', type: 'conditional', config: { when: 'inputs.ok' }, next },
      transformStep('yes', 'no'),
      transformStep('no'),
    ];
    for (const next of [
      'yes',
      ['yes', 'no'],
      { true: 'yes', false: ['no'] },
      { default: 'yes', false: 'no' },
    ]) {
      expect(errorsOf(workflowWith(steps(next)))).toEqual([]);
    }
    expect(errorsOf(workflowWith([transformStep('a', null)]))).toEqual([]);
  });

  it('says what a next may be when it is none of its forms', () => {
    expect(problemsOf(workflowWith([transformStep('a', 5)]))).toEqual([
      'steps[0].next: next must be a step id, a list of step ids, or a map from outcome to step id (or list); got an integer',
    ]);
  });

  it('reports a bad id inside a list or a map at its own path', () => {
    const problems = problemsOf(workflowWith([transformStep('a', { success: ['Bad Id'] })]));
    expect(problems).toEqual([expect.stringMatching(/^steps\[0\]\.next\.success\[0\]: must match/)]);
  });

  it('refuses an empty list', () => {
    expect(problemsOf(workflowWith([transformStep('a', [])]))).toEqual([
      expect.stringMatching(/^steps\[0\]\.next: Too small/),
    ]);
  });
});

/** For each built-in type: configs that must pass, and configs that must fail at a given path with a given message. */
const typeCases: Array<{
  type: string;
  good: unknown[];
  bad: Array<{ config: unknown; path: string; message: RegExp }>;
}> = [
  {
    type: 'form',
    good: [
      { fields: [{ key: 'email', type: 'string', required: true, pattern: '^[^@]+@[^@]+$' }] },
      { fields: [{ key: 'plan', enum: ['free', 'pro'], default: 'free', label: 'Plan' }], timeout_s: 3600 },
    ],
    bad: [
      { config: { fields: [] }, path: 'steps[0].config.fields', message: /Too small/ },
      {
        config: { fields: [{ key: '1st' }] },
        path: 'steps[0].config.fields[0].key',
        message: /must be a letter or _/,
      },
      {
        config: { fields: [{ key: 'a', type: 'date' }] },
        path: 'steps[0].config.fields[0].type',
        message: /Invalid option/,
      },
    ],
  },
  {
    type: 'approval',
    good: [
      { approvers: ['lead@example.com'] },
      { approvers: ['a@x.io', 'b@x.io'], min_approvals: 2, timeout_s: '{{ inputs.t }}' },
    ],
    bad: [
      { config: {}, path: 'steps[0].config.approvers', message: /missing required field 'approvers'/ },
      {
        config: { approvers: ['a@x.io'], min_approvals: 0 },
        path: 'steps[0].config.min_approvals',
        message: /Too small/,
      },
    ],
  },
  {
    type: 'ai_generate',
    good: [
      { prompt: 'Say hi to {{ inputs.name }}', json_schema: { type: 'object' } },
      { template_id: 'welcome', json_schema: { type: 'object' }, max_retries: 0, temperature: 0.2 },
    ],
    bad: [
      {
        config: { prompt: 'x' },
        path: 'steps[0].config.json_schema',
        message: /missing required field 'json_schema'/,
      },
      {
        config: { prompt: 'x', template_id: 't', json_schema: {} },
        path: 'steps[0].config.prompt',
        message: /either prompt or template_id/,
      },
      {
        config: { prompt: 'x', json_schema: {}, temperature: 3 },
        path: 'steps[0].config.temperature',
        message: /Too big/,
      },
    ],
  },
  {
    type: 'conditional',
    good: [
      { when: 'inputs.amount > 100' },
      { cases: { big: 'inputs.amount > 100', small: 'inputs.amount > 0' } },
    ],
    bad: [
      { config: {}, path: 'steps[0].config', message: /^missing required field: give 'when' or 'cases'$/ },
      {
        config: { when: 'true', cases: { a: 'true' } },
        path: 'steps[0].config',
        message: /^'cases' and 'when' cannot be used together: give one of them$/,
      },
      { config: { when: 5 }, path: 'steps[0].config.when', message: /expected a string, got an integer/ },
    ],
  },
  {
    type: 'api_call',
    good: [
      { url: 'https://api.example.com' },
      { method: 'POST', url: '/x', headers: { A: 'b' }, body: { a: 1 }, expect: [200, '4xx'] },
    ],
    bad: [
      { config: { method: 'FETCH', url: '/x' }, path: 'steps[0].config.method', message: /Invalid option/ },
      { config: { method: 'GET' }, path: 'steps[0].config.url', message: /missing required field 'url'/ },
      { config: { url: '/x', timeout_s: 'soon' }, path: 'steps[0].config.timeout_s', message: /placeholder/ },
    ],
  },
  {
    type: 'transform',
    good: [{ output: { total: '{{ inputs.a + inputs.b }}' } }, { output: null }],
    bad: [
      { config: { output: 1, extra: 2 }, path: 'steps[0].config.extra', message: /unknown field 'extra'/ },
    ],
  },
  {
    type: 'wait',
    good: [{ seconds: 60 }, { seconds: '{{ inputs.delay }}' }, { until: '2030-01-01T00:00:00Z' }],
    bad: [
      { config: { seconds: -1 }, path: 'steps[0].config.seconds', message: /Too small/ },
      { config: { seconds: 'soon' }, path: 'steps[0].config.seconds', message: /placeholder/ },
      { config: {}, path: 'steps[0].config', message: /give 'seconds' or 'until'/ },
    ],
  },
  {
    type: 'workflow',
    good: [{ workflow_id: 'child' }, { workflow_id: 'child', version: 2, inputs: { a: '{{ inputs.a }}' } }],
    bad: [
      { config: { workflow_id: 'Child' }, path: 'steps[0].config.workflow_id', message: /must match/ },
      { config: { workflow_id: 'child', version: 0 }, path: 'steps[0].config.version', message: /Too small/ },
    ],
  },
  {
    type: 'fail',
    good: [{ error: 'ApprovalTimeout' }, { error: 'Bad.Thing', message: 'It went wrong' }],
    bad: [
      { config: { error: '1abc' }, path: 'steps[0].config.error', message: /error code/ },
      {
        config: { message: 'no code' },
        path: 'steps[0].config.error',
        message: /missing required field 'error'/,
      },
    ],
  },
];

describe('validateWorkflow › structure › built-in step configs', () => {
  for (const { type, good, bad } of typeCases) {
    for (const [i, config] of good.entries()) {
      it(`accepts a good ${type} config (#${i + 1})`, () => {
        expect(errorsOf(workflowWith([{ id: 'a', type, config }]))).toEqual([]);
      });
    }
    for (const [i, { config, path, message }] of bad.entries()) {
      it(`reports a bad ${type} config at ${path} (#${i + 1})`, () => {
        const errors = errorsOf(workflowWith([{ id: 'a', type, config }]));
        expect(errors).toHaveLength(1);
        expect(errors[0]?.path).toBe(path);
        expect(errors[0]?.message).toMatch(message);
      });
    }
  }

  it('covers every built-in type', () => {
    expect(typeCases.map((c) => c.type).sort()).toEqual(createStepRegistry().names().sort());
  });
});
