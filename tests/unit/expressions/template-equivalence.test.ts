/**
 * Compiled templates render exactly what the placeholder-by-placeholder renderer rendered: the
 * same value, or the same first error, the same secrets fetched, over random templates and runs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WorkflowVersion } from '../../../shared/definition/schema.js';
import { runContext } from '../../../shared/engine/context.js';
import type { RunState, StepState } from '../../../shared/engine/types.js';
import { ConfigurationError, ExpressionError } from '../../../shared/errors.js';
import { compileTemplate, Redactor, render } from '../../../shared/expressions/index.js';
import type { SecretSource } from '../../../shared/ports/index.js';
import type { RunContext } from '../../../shared/steps/types.js';
import { referenceRender } from './reference-render.js';

/** Placeholder expressions: fast ones, ones only JSONata answers, failing ones, secrets. */
const EXPRESSIONS = [
  'inputs.a',
  'inputs.b',
  'inputs.missing',
  'inputs.a + 1',
  'inputs.a & "-" & inputs.b',
  "'text'",
  '42',
  'steps.first.output.n',
  'steps.first.output.n * 2 + 1',
  'steps.first.output',
  'steps.first.status',
  'steps.second.output.list',
  'steps.nope.output.n',
  'steps.first.outcome',
  'steps.first.visit + 1',
  // Fields of a step's state that its view leaves out, and names every object inherits.
  'steps.first.attempt',
  'steps.first.started_at',
  'steps.first.toString',
  'steps.first.__proto__',
  'steps.constructor.name',
  'inputs.list',
  'inputs.nested.deep',
  '$count(inputs.list)',
  '$string(inputs.a)',
  'inputs.a > 2 ? "big" : "small"',
  'run.id & ":" & run.workflow_version',
  'static.sender',
  'profile.plan',
  'inputs.a + "x"',
  '$error("boom")',
  'inputs.',
  '',
  'secrets.token',
  'secrets.db.user',
  '"Bearer " & secrets.token',
  '$lookup(secrets, "token")',
  'secrets.missing',
];

const placeholder = fc.constantFrom(...EXPRESSIONS).map((expression) => `{{ ${expression} }}`);
const literalText = fc.constantFrom('', 'Hi ', ' and ', '/x/', '{', '}', '{ }', 'é');
/** A string: plain text, one placeholder alone, text around placeholders, or an unclosed one. */
const templateString = fc.oneof(
  { weight: 2, arbitrary: literalText },
  { weight: 3, arbitrary: placeholder },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.oneof(literalText, placeholder), { minLength: 2, maxLength: 5 })
      .map((parts) => parts.join('')),
  },
  { weight: 1, arbitrary: literalText.map((text) => `${text}{{ inputs.a`) },
);
const scalar = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('plain', ''));
const key = fc.constantFrom('to', 'body', 'when', 'list', 'a', 'b', '__proto__', 'constructor');
const templateValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    templateString,
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4 }),
  ),
})).value;

const inputValue = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -100, max: 100 }),
  fc.constantFrom('x', 'text', ''),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }),
  fc.constant({ deep: [1, { x: 2 }] }),
);
const inputs = fc.record(
  { a: inputValue, b: inputValue, list: inputValue, nested: fc.constant({ deep: 'yes' }) },
  { requiredKeys: [] },
);

const SECRETS: Record<string, string> = {
  token: 's3cr3t-token',
  db: JSON.stringify({ user: 'admin-user', password: 'pa55-word' }),
};

function secretSource(): SecretSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async get(name) {
      asked.push(name);
      const value = SECRETS[name];
      if (value === undefined) throw new ConfigurationError(`Secret '${name}' is not defined`);
      return value;
    },
  };
}

const workflow = {
  id: 'wf',
  version: 3,
  definition: { static: { sender: 'team@example.com' } },
} as unknown as WorkflowVersion;

/** The run context as the engine makes it: steps as a lazy record over the run state. */
function engineContext(runInputs: unknown, first: unknown): RunContext {
  const steps: Record<string, StepState> = {
    first: {
      status: 'completed',
      visit: 1,
      attempt: 1,
      output: first,
      outcome: 'success',
      started_at: '2026-01-01T00:00:02.000Z',
    },
    second: { status: 'completed', visit: 2, attempt: 1, output: { list: [1, 2] } },
    pending: { status: 'pending', visit: 0, attempt: 0 },
  };
  const state = {
    id: 'run_1',
    workflow_id: 'wf',
    workflow_version: 3,
    status: 'running',
    inputs: runInputs,
    profile: { plan: 'pro' },
    created_at: '2026-01-01T00:00:00.000Z',
    started_at: '2026-01-01T00:00:01.000Z',
    steps,
  } as unknown as RunState;
  return runContext(workflow, state);
}

type Outcome = { value: unknown } | { error: { name: string; code: unknown; message: string } };

async function outcomeOf(rendering: Promise<unknown>): Promise<Outcome> {
  try {
    return { value: await rendering };
  } catch (error) {
    const { name, message } = error as Error;
    return { error: { name, code: (error as { code?: unknown }).code, message } };
  }
}

describe('compiled templates', () => {
  it('render what the placeholder-by-placeholder renderer rendered, for random templates and runs', async () => {
    await fc.assert(
      fc.asyncProperty(
        templateValue,
        inputs,
        inputValue,
        fc.subarray(['when', 'list']),
        fc.boolean(),
        async (value, runInputs, first, skipKeys, withSecrets) => {
          const context = engineContext(runInputs, { n: first });
          const compiledSecrets = secretSource();
          const referenceSecrets = secretSource();
          const compiledRedactor = new Redactor();
          const referenceRedactor = new Redactor();
          const compiled = await outcomeOf(
            compileTemplate(value, skipKeys).render(context, {
              skipKeys,
              redactor: compiledRedactor,
              ...(withSecrets ? { secrets: compiledSecrets } : {}),
            }),
          );
          const reference = await outcomeOf(
            referenceRender(value, context, {
              skipKeys,
              redactor: referenceRedactor,
              ...(withSecrets ? { secrets: referenceSecrets } : {}),
            }),
          );
          expect(compiled).toEqual(reference);
          expect(compiledSecrets.asked).toEqual(referenceSecrets.asked);
          expect([...compiledRedactor.values()]).toEqual([...referenceRedactor.values()]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('render the same value again and again, each time a fresh copy', async () => {
    const config = { body: { to: '{{ inputs.a }}', n: '{{ steps.first.output.n + 1 }}' }, list: ['x'] };
    const template = compileTemplate(config);
    const context = engineContext({ a: 'ann' }, { n: 1 });
    const first = (await template.render(context)) as typeof config;
    const second = (await template.render(context)) as typeof config;
    expect(first).toEqual({ body: { to: 'ann', n: 2 }, list: ['x'] });
    expect(second).toEqual(first);
    expect(second.body).not.toBe(first.body);
    expect(second.list).not.toBe(config.list);
  });

  it("read a step's public fields through the run's steps, and nothing else of its state", () => {
    const template = compileTemplate({
      status: '{{ steps.first.status }}',
      visit: '{{ steps.first.visit }}',
      outcome: '{{ steps.first.outcome }}',
      n: '{{ steps.first.output.n }}',
      attempt: '{{ steps.first.attempt }}',
      started: '{{ steps.first.started_at }}',
      inherited: '{{ steps.first.constructor }}',
      missing: '{{ steps.nope.status }}',
    });
    // Synchronously: the fast path answers every one of these.
    expect(template.renderNow(engineContext({}, { n: 7 }))).toEqual({
      status: 'completed',
      visit: 1,
      outcome: 'success',
      n: 7,
    });
  });

  it('render at the same time without sharing what one render fetched or evaluated', async () => {
    const template = compileTemplate({ a: '{{ $string(inputs.a) }}', t: 'Bearer {{ secrets.token }}' });
    const renders = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        template.render(engineContext({ a: i }, {}), { secrets: secretSource() }),
      ),
    );
    expect(renders).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ a: String(i), t: 'Bearer s3cr3t-token' })),
    );
  });

  it('answer the common placeholders without JSONata, synchronously, within one microtask', async () => {
    const template = compileTemplate({ n: '{{ steps.first.output.n + 1 }}', label: 'step {{ inputs.a }}' });
    let settled = false;
    void template.render(engineContext({ a: 'x' }, { n: 1 }), {}).then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(true);
  });

  it('stop a hostile placeholder within its budget on every render, while a fast render goes on', async () => {
    const hostile = compileTemplate({
      ok: '{{ inputs.a }}',
      // A naive Fibonacci: billions of calls, no allocation, so only the time budget can stop it.
      spin: '{{ ($f := function($n) { $n < 2 ? $n : $f($n - 1) + $f($n - 2) }; $f(60)) }}',
    });
    const quick = compileTemplate({ n: '{{ steps.first.output.n + 1 }}' });
    for (let attempt = 0; attempt < 2; attempt++) {
      let quickDone = false;
      const stopped = hostile.render(engineContext({ a: 1 }, {}), { timeoutMs: 1000 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      // The hostile render yields to the event loop every few milliseconds: a render started
      // meanwhile finishes long before the budget of one second is spent, however busy the machine.
      setTimeout(() => {
        void quick.render(engineContext({}, { n: 1 })).then(() => {
          quickDone = true;
        });
      }, 5);
      const error = (await stopped) as ExpressionError;
      expect(error).toBeInstanceOf(ExpressionError);
      expect(error.code).toBe('ExpressionLimit');
      expect(error.details).toEqual({ limit: 'time' });
      expect(error.message).toMatch(/^spin: /);
      expect(quickDone).toBe(true);
    }
  });

  it('fail a render only when it reaches a placeholder that does not parse', async () => {
    const template = compileTemplate({ ok: '{{ inputs.a }}', bad: '{{ inputs. }}', unclosed: '{{ inputs.a' });
    await expect(template.render(engineContext({ a: 1 }, {}))).rejects.toThrow(/^bad: Syntax error/);
    await expect(render({ ok: '{{ inputs.a }}' }, engineContext({ a: 1 }, {}))).resolves.toEqual({ ok: 1 });
  });
});
