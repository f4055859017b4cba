/** Rendering configs: placeholders resolved against the run context, types kept, text stringified. */
import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../../shared/errors.js';
import { render } from '../../../shared/expressions/index.js';
import type { RunContext } from '../../../shared/steps/types.js';
import { failure as failed } from '../../support/failure.js';

function context(): RunContext {
  return {
    inputs: { customer: 'Ann', count: 2, flags: [true, false] },
    static: { sender: 'team@example.com' },
    profile: { plan: 'pro' },
    steps: {
      collect: {
        status: 'completed',
        visit: 1,
        output: { email: 'ann@example.com', age: 41, nothing: null },
      },
      draft: { status: 'completed', visit: 2, output: { subject: 'Welcome', body: { lines: ['a', 'b'] } } },
    },
    run: {
      id: 'run_1',
      workflow_id: 'onboarding',
      workflow_version: 3,
      started_at: '2024-01-01T00:00:00.000Z',
    },
  };
}

/** The ExpressionError an evaluation fails with. */
const failure = (promise: Promise<unknown>) => failed(promise, ExpressionError);

describe('render', () => {
  it('keeps the type of a string that is a single placeholder', async () => {
    expect(await render('{{ steps.collect.output.age }}', context())).toBe(41);
    expect(await render('{{ inputs.flags }}', context())).toEqual([true, false]);
    expect(await render('{{ steps.draft.output.body }}', context())).toEqual({ lines: ['a', 'b'] });
    expect(await render('{{ steps.collect.output.nothing }}', context())).toBeNull();
    expect(await render('{{ inputs.count > 1 }}', context())).toBe(true);
  });

  it('returns undefined for a single placeholder whose path is missing', async () => {
    expect(await render('{{ steps.nope.output }}', context())).toBeUndefined();
  });

  it('stringifies values inside text: objects as JSON, numbers as JSONata writes them, missing as empty', async () => {
    const text = await render(
      'Hi {{ inputs.customer }}, {{ steps.collect.output.age }} {{ inputs.flags }} {{ steps.draft.output.body }} ' +
        '[{{ inputs.missing }}][{{ steps.collect.output.nothing }}] {{ 0.1 + 0.2 }}',
      context(),
    );
    expect(text).toBe('Hi Ann, 41 [true,false] {"lines":["a","b"]} [][] 0.3');
  });

  it('treats a placeholder with text around it, even spaces, as text', async () => {
    expect(await render(' {{ steps.collect.output.age }}', context())).toBe(' 41');
  });

  it('renders strings inside nested objects and arrays, leaving other values and keys alone', async () => {
    const config = {
      method: 'POST',
      url: '/users/{{ run.id }}',
      retries: 3,
      enabled: true,
      empty: null,
      '{{ key }}': 'kept',
      body: {
        to: '{{ steps.collect.output.email }}',
        age: '{{ steps.collect.output.age }}',
        lines: ['{{ steps.draft.output.subject }}', 'static', ['{{ static.sender }}']],
      },
    };
    expect(await render(config, context())).toEqual({
      method: 'POST',
      url: '/users/run_1',
      retries: 3,
      enabled: true,
      empty: null,
      '{{ key }}': 'kept',
      body: {
        to: 'ann@example.com',
        age: 41,
        lines: ['Welcome', 'static', ['team@example.com']],
      },
    });
  });

  it('leaves the value it was given unchanged', async () => {
    const config = { body: { to: '{{ steps.collect.output.email }}' }, list: ['{{ run.id }}'] };
    const copy = structuredClone(config);
    const rendered = (await render(config, context())) as typeof config;
    expect(config).toEqual(copy);
    expect(rendered.body).not.toBe(config.body);
  });

  it('leaves out object keys whose value is missing and turns missing array items into null', async () => {
    expect(
      await render({ a: '{{ inputs.missing }}', b: 1, list: ['{{ inputs.missing }}', 'x'] }, context()),
    ).toEqual({ b: 1, list: [null, 'x'] });
  });

  it('leaves the top-level skipKeys untouched, and only those', async () => {
    const config = {
      when: '{{ inputs.count > 1 }}',
      cases: { big: 'inputs.count > 1' },
      label: '{{ inputs.customer }}',
      nested: { when: '{{ inputs.customer }}' },
    };
    const rendered = (await render(config, context(), { skipKeys: ['when', 'cases'] })) as Record<
      string,
      unknown
    >;
    expect(rendered.when).toBe('{{ inputs.count > 1 }}');
    expect(rendered.cases).toBe(config.cases);
    expect(rendered.label).toBe('Ann');
    expect(rendered.nested).toEqual({ when: 'Ann' });
  });

  it('sees profile, static and run', async () => {
    expect(await render('{{ profile.plan }}/{{ static.sender }}/{{ run.workflow_version }}', context())).toBe(
      'pro/team@example.com/3',
    );
  });

  it('reads steps through a lazy view such as the engine passes, without enumerating it', async () => {
    const base = context();
    const read: string[] = [];
    const steps = new Proxy({} as RunContext['steps'], {
      get: (_target, key) => {
        if (typeof key === 'string') read.push(key);
        return typeof key === 'string' ? base.steps[key] : undefined;
      },
      getOwnPropertyDescriptor: (_target, key) => {
        if (typeof key === 'string') read.push(key);
        return typeof key === 'string' && key in base.steps
          ? { value: base.steps[key], enumerable: true, configurable: true, writable: false }
          : undefined;
      },
      ownKeys: () => {
        throw new Error('the run was enumerated');
      },
    });
    expect(await render('{{ steps.collect.output.age + 1 }}', { ...base, steps })).toBe(42);
    expect(read).toContain('collect');
    expect(read).not.toContain('draft');
  });

  it('fails with the path of the string and the position in the expression', async () => {
    const error = await failure(render({ body: { list: ['ok', '{{ inputs.count + "x" }}'] } }, context()));
    expect(error.code).toBe('ExpressionError');
    expect(error.expression).toBe('inputs.count + "x"');
    expect(error.message).toBe(
      'body.list[1]: Expression `inputs.count + "x"` failed at position 14: ' +
        'The right side of the "+" operator must evaluate to a number (T2002)',
    );
    expect(error.details).toEqual({ jsonata_code: 'T2002', position: 14 });
  });

  it('fails with ExpressionSyntaxError for a placeholder that does not parse or is not closed', async () => {
    const syntax = await failure(render({ url: '/x/{{ inputs. }}' }, context()));
    expect(syntax.code).toBe('ExpressionSyntaxError');
    expect(syntax.message).toMatch(/^url: Syntax error in `inputs\.` at position/);
    const unclosed = await failure(render({ url: '/x/{{ inputs.customer' }, context()));
    expect(unclosed.code).toBe('ExpressionSyntaxError');
    expect(unclosed.message).toMatch(/^url: Unclosed placeholder/);
  });

  it('passes the time budget on to the expressions', async () => {
    const error = await failure(
      render('{{ ($f := function($n){ $f($n + 1) }; $f(0)) }}', context(), { timeoutMs: 50 }),
    );
    expect(error.code).toBe('ExpressionLimit');
    expect(error.details).toEqual({ limit: 'time' });
  });

  it('bounds a template that joins many large values', async () => {
    const part = '{{ $pad("", 1000000, "x") }}';
    const error = await failure(render({ body: part.repeat(11) }, context()));
    expect(error.code).toBe('ExpressionLimit');
    expect(error.details).toEqual({ limit: 'size' });
    expect(error.message).toMatch(/^body: The template .* rendered more than 10000000 characters/);
    expect(((await render({ body: part.repeat(3) }, context())) as { body: string }).body).toHaveLength(
      3_000_000,
    );
  });

  it('bounds the whole rendered value, its placeholders together, as each one is bounded', async () => {
    // 40 keys of a million characters each: every value within its own limit, 40 MB in all. A
    // config of 600 such keys rendered 600 MB, which no store could serialize, and its run stayed
    // running for ever, every Advance failing.
    const many = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`k${i}`, '{{ $pad("", 1000000, "x") }}']),
    );
    const error = await failure(render(many, context()));
    expect(error.code).toBe('ExpressionLimit');
    expect(error.details).toEqual({ limit: 'size' });
    expect(error.message).toBe(
      'The template rendered more than 32000000 characters of JSON, its placeholders together',
    );
    // The same large part of the run data, named four times: shared parts count each time.
    const big = { text: 'y'.repeat(9_000_000) };
    const shared = {
      a: '{{ inputs.big }}',
      b: '{{ inputs.big }}',
      c: '{{ inputs.big }}',
      d: '{{ inputs.big }}',
    };
    const sharedError = await failure(render(shared, { ...context(), inputs: { big } }));
    expect(sharedError.details).toEqual({ limit: 'size' });
    expect(
      await render({ a: '{{ inputs.big }}', b: '{{ inputs.big }}' }, { ...context(), inputs: { big } }),
    ).toEqual({
      a: big,
      b: big,
    });
  });

  it('returns values other than strings, arrays and objects as they are', async () => {
    expect(await render(7, context())).toBe(7);
    expect(await render(undefined, context())).toBeUndefined();
    expect(await render(null, context())).toBeNull();
  });
});
