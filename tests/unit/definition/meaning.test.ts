import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../../../shared/definition/validate.js';
import { errorsOf, onboarding, problemsOf, transformStep, workflowWith } from './helpers.js';

const approvalStep = (id: string, next: unknown) => ({
  id,
  type: 'approval',
  config: { approvers: ['lead@example.com'] },
  next,
});
const conditionalStep = (id: string, next: unknown, config: unknown = { when: 'inputs.ok' }) => ({
  id,
  type: 'conditional',
  config,
  next,
});

describe('validateWorkflow › meaning › step ids', () => {
  it('reports a duplicate step id at the second step', () => {
    expect(
      problemsOf(workflowWith([transformStep('a', 'b'), transformStep('b'), transformStep('a')])),
    ).toEqual(["steps[2].id: duplicate step id 'a': steps[0] has it already"]);
  });
});

describe('validateWorkflow › meaning › references', () => {
  it('reports a next that names an unknown step, and suggests a near name', () => {
    expect(problemsOf(workflowWith([transformStep('a', 'finsh'), transformStep('finish')]))).toEqual([
      "steps[0].next: unknown step 'finsh'; did you mean 'finish'?",
    ]);
  });

  it('checks every form of next: a list item, a map value and an item of a list in a map', () => {
    const steps = [
      transformStep('a', ['b', 'x1']),
      conditionalStep('b', { true: 'x2', false: ['c', 'x3'] }),
      transformStep('c'),
    ];
    const problems = problemsOf(workflowWith(steps));
    expect(problems).toEqual([
      "steps[0].next[1]: unknown step 'x1'; the steps are: a, b, c",
      "steps[1].next.true: unknown step 'x2'; the steps are: a, b, c",
      "steps[1].next.false[1]: unknown step 'x3'; the steps are: a, b, c",
    ]);
  });

  it('reports an on_error and a start_step that name unknown steps', () => {
    const doc = workflowWith([{ ...transformStep('a'), on_error: 'handler' }], { start_step: 'begin' });
    expect(problemsOf(doc)).toEqual([
      "start_step: unknown step 'begin'; the steps are: a",
      "steps[0].on_error: unknown step 'handler'; the steps are: a",
    ]);
  });

  it('gives the line of the reference in YAML', () => {
    const errors = errorsOf(
      'schema_version: "1.0"\nid: w\nsteps:\n  - id: a\n    type: transform\n    config: {output: 1}\n    next: nowhere\n',
    );
    expect(errors).toEqual([
      { path: 'steps[0].next', message: "unknown step 'nowhere'; the steps are: a", line: 7, column: 5 },
    ]);
  });

  it('reports a placeholder or a when that reads an unknown step, and suggests a near name', () => {
    const doc = workflowWith(
      [
        {
          id: 'collect',
          type: 'transform',
          config: {
            output: { email: '{{ steps.colect.output.email }}', n: '{{ steps.collect.output.n + 1 }}' },
          },
          next: 'check',
        },
        conditionalStep(
          'check',
          { true: 'done', false: 'done' },
          { when: 'steps.colect.output.n > steps.nope.output.m' },
        ),
        transformStep('done'),
      ],
      { output: '{{ steps.don.output }}' },
    );
    expect(problemsOf(doc)).toEqual([
      "output: {{ steps.don.output }} reads unknown step 'don'; did you mean 'done'?",
      "steps[0].config.output.email: {{ steps.colect.output.email }} reads unknown step 'colect'; did you mean 'collect'?",
      "steps[1].config.when: steps.colect.output.n > steps.nope.output.m reads unknown step 'colect'; did you mean 'collect'?",
      "steps[1].config.when: steps.colect.output.n > steps.nope.output.m reads unknown step 'nope'; the steps are: collect, check, done",
    ]);
  });

  it('refuses secrets in a child run’s inputs, which are stored with it, but not a field named secrets', () => {
    const doc = workflowWith([
      {
        id: 'child',
        type: 'workflow',
        config: {
          workflow_id: 'kid',
          inputs: {
            key: '{{ secrets.token }}',
            nested: { upper: 'Bearer {{ $uppercase(secrets.token) }}' },
            field: '{{ inputs.config.secrets }}',
          },
        },
      },
    ]);
    const message =
      'must not read secrets: a run’s inputs are stored; the run can read {{ secrets.NAME }} itself';
    expect(problemsOf(doc)).toEqual([
      `steps[0].config.inputs.key: ${message}`,
      `steps[0].config.inputs.nested.upper: ${message}`,
    ]);
  });

  it('refuses approvers read from secrets (they are addresses stored and shown), and says a bad placeholder once', () => {
    const doc = workflowWith([
      { id: 'ok', type: 'approval', config: { approvers: ['{{ secrets.cfo_email }}'] }, next: 'kid' },
      { id: 'kid', type: 'workflow', config: { workflow_id: 'kid', inputs: { a: '{{ inputs.( }}' } } },
    ]);
    const problems = problemsOf(doc);
    expect(problems[0]).toMatch(
      /^steps\[0\]\.config\.approvers\[0\]: must not read secrets: a notification’s address/,
    );
    expect(problems.filter((p) => p.startsWith('steps[1].config.inputs.a'))).toHaveLength(1);
  });

  it('does not look for steps where `steps` may be a field of something else', () => {
    const doc = workflowWith([
      {
        id: 'a',
        type: 'transform',
        config: {
          output: {
            nested: '{{ inputs.orders.(steps.count) }}',
            called: '{{ $count(inputs.items) + $lookup(steps, "later") }}',
            mapped: '{{ inputs.plans.{ "n": steps.first } }}',
          },
        },
      },
    ]);
    expect(problemsOf(doc)).toEqual([]);
  });

  it('does not call an id unknown when its step has a structural problem', () => {
    const steps = [transformStep('a', 'b'), { id: 'b', type: 'transform', config: { output: 1, extra: 1 } }];
    expect(problemsOf(workflowWith(steps))).toEqual(["steps[1].config.extra: unknown field 'extra'"]);
  });
});

describe('validateWorkflow › meaning › services', () => {
  const call = (extra: Record<string, unknown>) => ({
    id: 'a',
    type: 'api_call',
    config: { url: '/x' },
    ...extra,
  });

  it('reports a step service that is not defined', () => {
    expect(problemsOf(workflowWith([call({ service: 'mailer' })]))).toEqual([
      "steps[0].service: unknown service 'mailer'; the workflow defines no services",
    ]);
    expect(problemsOf(workflowWith([call({ service: 'mailr' })], { services: { mailer: {} } }))).toEqual([
      "steps[0].service: unknown service 'mailr'; did you mean 'mailer'?",
    ]);
  });

  it('reports a compensate service that is not defined', () => {
    const step = {
      ...transformStep('a'),
      compensate: { type: 'api_call', service: 'crm', config: { url: '/undo' } },
    };
    expect(problemsOf(workflowWith([step], { services: { mailer: {} } }))).toEqual([
      "steps[0].compensate.service: unknown service 'crm'; the services are: mailer",
    ]);
  });

  it('checks the config with the service settings merged in', () => {
    const doc = workflowWith([call({ service: 'api' })], { services: { api: { method: 'FETCH' } } });
    expect(problemsOf(doc)).toEqual([
      expect.stringMatching(
        /^steps\[0\]\.config\.method: with the settings of service 'api' merged in: Invalid option/,
      ),
    ]);
  });

  it('reports service settings that the step type does not take', () => {
    const doc = workflowWith([{ ...transformStep('a'), service: 'api' }], {
      services: { api: { base_url: 'https://x' } },
    });
    expect(problemsOf(doc)).toEqual([
      "steps[0].config.base_url: with the settings of service 'api' merged in: unknown field 'base_url'",
    ]);
  });

  it('lets the step win over the service, key by key', () => {
    const doc = workflowWith([call({ service: 'api', config: { url: '/x', headers: { B: '2' } } })], {
      services: { api: { base_url: 'https://x', headers: { A: '1', B: '1' } } },
    });
    expect(errorsOf(doc)).toEqual([]);
  });
});

describe('validateWorkflow › meaning › outcomes', () => {
  it('reports a next key that is not an outcome of the type, naming the allowed ones', () => {
    expect(problemsOf(workflowWith([approvalStep('a', { approve: 'b' }), transformStep('b')]))).toEqual([
      "steps[0].next.approve: 'approve' is not an outcome of this approval step; its outcomes are approved, rejected, timeout, default",
    ]);
  });

  it('takes the outcomes of a conditional from its cases', () => {
    const step = conditionalStep(
      'a',
      { big: 'b', small: 'b', huge: 'b' },
      { cases: { big: 'x > 1', small: 'x > 0' } },
    );
    expect(problemsOf(workflowWith([step, transformStep('b')]))).toEqual([
      "steps[0].next.huge: 'huge' is not an outcome of this conditional step; its outcomes are big, small, default",
    ]);
  });

  it('accepts default as a key for any type with outcomes', () => {
    expect(errorsOf(workflowWith([approvalStep('a', { default: 'b' }), transformStep('b')]))).toEqual([]);
  });

  it('reports a fail step with a next', () => {
    const step = { id: 'stop', type: 'fail', config: { error: 'Stop' }, next: 'b' };
    expect(problemsOf(workflowWith([step, transformStep('b')]))).toContain(
      'steps[0].next: a fail step ends the run, so it cannot have a next',
    );
  });
});

describe('validateWorkflow › meaning › reachability', () => {
  it('reports a step that nothing leads to', () => {
    expect(problemsOf(workflowWith([transformStep('a'), transformStep('lost')]))).toEqual([
      "steps[1]: step 'lost' is unreachable: nothing leads to it from the start step 'a' (through next or on_error)",
    ]);
  });

  it('starts from start_step when there is one', () => {
    const problems = problemsOf(
      workflowWith([transformStep('a'), transformStep('b', 'a')], { start_step: 'b' }),
    );
    expect(problems).toEqual([]);
    expect(problemsOf(workflowWith([transformStep('a'), transformStep('b')], { start_step: 'b' }))).toEqual([
      "steps[0]: step 'a' is unreachable: nothing leads to it from the start step 'b' (through next or on_error)",
    ]);
  });

  it('counts on_error edges as ways in', () => {
    const steps = [{ ...transformStep('a'), on_error: 'handler' }, transformStep('handler')];
    expect(errorsOf(workflowWith(steps))).toEqual([]);
  });
});

describe('validateWorkflow › meaning › loops', () => {
  it('reports a loop with no way out at its first step, naming its steps', () => {
    const steps = [transformStep('start', 'a'), transformStep('a', 'b'), transformStep('b', 'a')];
    expect(problemsOf(workflowWith(steps))).toEqual([
      "steps[1]: steps 'a', 'b' form a loop with no way out: no step outside the loop and no branch end can be reached from them",
    ]);
  });

  it('reports a step that only leads back to itself', () => {
    expect(problemsOf(workflowWith([transformStep('spin', 'spin')]))).toEqual([
      "steps[0]: step 'spin' only leads back to itself: a loop with no way out (no other step and no branch end can be reached)",
    ]);
  });

  it('accepts a loop that a conditional can leave', () => {
    const steps = [
      transformStep('work', 'check'),
      conditionalStep('check', { true: 'work', false: 'done' }),
      transformStep('done'),
    ];
    expect(errorsOf(workflowWith(steps))).toEqual([]);
  });

  it('accepts a loop whose next map leaves an outcome to end the branch', () => {
    const steps = [
      transformStep('draft', 'review'),
      approvalStep('review', { approved: 'draft', rejected: 'draft' }),
    ];
    expect(errorsOf(workflowWith(steps))).toEqual([]);
  });

  it('counts an on_error edge out of the loop as a way out', () => {
    const steps = [{ ...transformStep('a', 'a'), on_error: 'b' }, transformStep('b')];
    expect(errorsOf(workflowWith(steps))).toEqual([]);
  });

  it('accepts the review loop of the onboarding example', () => {
    expect(errorsOf(onboarding())).toEqual([]);
  });

  it('accepts a small max_visits', () => {
    const steps = [
      { ...transformStep('work', 'check'), max_visits: 1 },
      conditionalStep('check', { true: 'work' }),
    ];
    expect(errorsOf(workflowWith(steps))).toEqual([]);
  });
});

describe('validateWorkflow › meaning › expressions', () => {
  it('reports a placeholder that does not parse, at the string that holds it', () => {
    const step = {
      id: 'a',
      type: 'api_call',
      config: { url: '/x', body: { to: ['{{ inputs.email ++ }}'] } },
    };
    expect(problemsOf(workflowWith([step]))).toEqual([
      expect.stringMatching(
        /^steps\[0\]\.config\.body\.to\[0\]: the placeholder \{\{ inputs\.email \+\+ \}\} does not parse: /,
      ),
    ]);
  });

  it('checks the output template, services and compensate configs, but not static data', () => {
    const step = { ...transformStep('a'), compensate: { type: 'transform', config: { output: '{{ ( }}' } } };
    const doc = workflowWith([step], {
      output: '{{ steps.a.output. }}',
      services: { api: { headers: { A: '{{ ] }}' } } },
      static: { template: '{{ not parsed ( }}' },
    });
    const paths = errorsOf(doc).map((e) => e.path);
    expect(paths).toEqual(['services.api.headers.A', 'output', 'steps[0].compensate.config.output']);
  });

  it('checks a conditional when and every case as expressions', () => {
    expect(problemsOf(workflowWith([conditionalStep('a', null, { when: 'inputs.amount >' })]))).toEqual([
      expect.stringMatching(/^steps\[0\]\.config\.when: the expression does not parse: /),
    ]);
    const cases = { big: 'x > 1', broken: '$sum(' };
    expect(problemsOf(workflowWith([conditionalStep('a', null, { cases })]))).toEqual([
      expect.stringMatching(/^steps\[0\]\.config\.cases\.broken: the expression does not parse: /),
    ]);
  });

  it('accepts the expressions of the onboarding example', () => {
    expect(errorsOf(onboarding())).toEqual([]);
  });
});

describe('validateWorkflow › meaning › JSON Schemas', () => {
  const generate = (json_schema: unknown) => ({
    id: 'a',
    type: 'ai_generate',
    config: { prompt: 'hi', json_schema },
  });

  it('reports a json_schema that is not JSON Schema 2020-12, where the mistake is', () => {
    const errors = errorsOf(
      workflowWith([generate({ type: 'object', properties: { a: { type: 'strin' } } })]),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe('steps[0].config.json_schema.properties.a.type');
    expect(errors[0]?.message).toMatch(
      /^is not valid in a JSON Schema \(2020-12\): must be one of: "array", "boolean"/,
    );
  });

  it('reports a json_schema that Ajv cannot compile', () => {
    const errors = errorsOf(workflowWith([generate({ $ref: '#/$defs/missing' })]));
    expect(errors).toEqual([
      {
        path: 'steps[0].config.json_schema',
        message: expect.stringMatching(/^is not a usable JSON Schema \(2020-12\): can't resolve reference/),
      },
    ]);
  });

  it('reports inputs that are not a valid JSON Schema', () => {
    const errors = errorsOf(
      workflowWith([transformStep('a')], { inputs: { type: 'object', required: 'name' } }),
    );
    expect(errors.map((e) => e.path)).toEqual(['inputs.required']);
  });

  it('accepts schemas that use formats and $defs', () => {
    const schema = {
      type: 'object',
      $defs: { mail: { type: 'string', format: 'email' } },
      properties: { to: { $ref: '#/$defs/mail' } },
    };
    expect(errorsOf(workflowWith([generate(schema)], { inputs: schema }))).toEqual([]);
  });

  it('lets two schemas share an $id', () => {
    const schema = { $id: 'https://example.com/answer', type: 'object' };
    expect(problemsOf(workflowWith([generate(schema), { ...generate(schema), id: 'b' }]))).toEqual([
      "steps[1]: step 'b' is unreachable: nothing leads to it from the start step 'a' (through next or on_error)",
    ]);
  });
});

describe("validateWorkflow › meaning › a type's own checks", () => {
  it('reports them under the step config', () => {
    const step = { id: 'a', type: 'form', config: { fields: [{ key: 'code', pattern: '([a-z' }] } };
    const paths = errorsOf(workflowWith([step])).map((e) => e.path);
    expect(paths).toEqual(['steps[0].config.fields[0].pattern']);
  });

  it('runs them on compensate actions too', () => {
    const step = {
      ...transformStep('a'),
      compensate: { type: 'ai_generate', config: { prompt: 'undo', json_schema: { type: 1 } } },
    };
    const paths = errorsOf(workflowWith([step])).map((e) => e.path);
    expect(paths).toEqual(['steps[0].compensate.config.json_schema.type']);
  });
});

describe('validateWorkflow › steps that end the run and expression fields', () => {
  it('refuses on_error on a fail step, which ends the run', () => {
    const result = validateWorkflow(
      'schema_version: "1.0"\nid: wf\nsteps:\n  - { id: a, type: fail, config: { error: X }, on_error: b }\n  - { id: b, type: transform, config: { output: 1 } }\n',
    );
    expect(result.errors).toContainEqual(
      expect.objectContaining({
        path: 'steps[0].on_error',
        message: 'a fail step ends the run, so it cannot have an on_error',
      }),
    );
  });

  it('refuses secrets in a conditional expression, where they would quietly be missing', () => {
    const result = validateWorkflow(
      'schema_version: "1.0"\nid: wf\nsteps:\n  - { id: c, type: conditional, config: { when: "secrets.flag = \'on\'" } }\n',
    );
    expect(result.errors).toEqual([expect.objectContaining({ path: 'steps[0].config.when', line: 4 })]);
    expect(result.errors[0]!.message).toMatch(/secrets cannot be read in when/);
  });
});
