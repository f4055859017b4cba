/** Secrets in placeholders: fetched by name when a step renders, remembered by a Redactor and scrubbed everywhere else. */
import { describe, expect, it } from 'vitest';
import { ConfigurationError, ExpressionError, FlowrunnerError } from '../../../shared/errors.js';
import { REDACTED, Redactor, render } from '../../../shared/expressions/index.js';
import type { SecretSource } from '../../../shared/ports/index.js';
import type { RunContext } from '../../../shared/steps/types.js';

const TOKEN = 's3cr3t-token-value';
const DB = JSON.stringify({
  user: 'admin-user',
  password: 'pa55-word',
  nested: { key: 'nested-key' },
  port: 5432,
});

/** A secret source that records which names were asked for. */
function source(
  values: Record<string, string> = { token: TOKEN, db: DB },
): SecretSource & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    async get(name) {
      asked.push(name);
      const value = values[name];
      if (value === undefined) throw new ConfigurationError(`Secret '${name}' is not defined`);
      return value;
    },
  };
}

function context(): RunContext {
  return {
    inputs: { customer: 'Ann' },
    static: {},
    profile: null,
    steps: {},
    run: { id: 'run_1', workflow_id: 'w', workflow_version: 1, started_at: '2024-01-01T00:00:00.000Z' },
  };
}

async function failure(promise: Promise<unknown>): Promise<FlowrunnerError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FlowrunnerError);
    return error as FlowrunnerError;
  }
  throw new Error('expected the render to fail');
}

describe('render with secrets', () => {
  it('resolves secrets.NAME through the secret source', async () => {
    const secrets = source();
    expect(await render({ Authorization: 'Bearer {{ secrets.token }}' }, context(), { secrets })).toEqual({
      Authorization: `Bearer ${TOKEN}`,
    });
  });

  it('fetches only the names referenced, once per render', async () => {
    const secrets = source({ token: TOKEN, db: DB, unused: 'never-fetched' });
    await render(
      { a: '{{ secrets.token }}', b: ['{{ secrets.token }}'], c: '{{ inputs.customer }}' },
      context(),
      {
        secrets,
      },
    );
    expect(secrets.asked).toEqual(['token']);
  });

  it('reads fields of a secret that is a JSON object', async () => {
    const rendered = await render(
      { user: '{{ secrets.db.user }}', key: '{{ secrets.db.nested.key }}', port: '{{ secrets.db.port }}' },
      context(),
      { secrets: source() },
    );
    expect(rendered).toEqual({ user: 'admin-user', key: 'nested-key', port: 5432 });
  });

  it('keeps a secret that is JSON but not an object as its raw string', async () => {
    const secrets = source({ list: '[1, 2]', quoted: '"text"', number: '12345' });
    expect(
      await render('{{ secrets.list }}|{{ secrets.quoted }}|{{ secrets.number }}', context(), { secrets }),
    ).toBe('[1, 2]|"text"|12345');
  });

  it('adds the raw secret and every string inside a JSON secret to the redactor', async () => {
    const redactor = new Redactor();
    await render({ a: '{{ secrets.token }}', b: '{{ secrets.db.user }}' }, context(), {
      secrets: source(),
      redactor,
    });
    expect([...redactor.values()].sort()).toEqual(
      [DB, 'admin-user', 'nested-key', 'pa55-word', TOKEN].sort(),
    );
    expect(redactor.scrubText(`user admin-user with pa55-word and ${TOKEN}`)).toBe(
      `user ${REDACTED} with ${REDACTED} and ${REDACTED}`,
    );
  });

  it('does not show secrets to expressions that do not name them', async () => {
    const rendered = await render(
      { a: '{{ secrets.token }}', b: '{{ $lookup($$, "secrets") }}', c: '{{ $keys($$) }}' },
      context(),
      { secrets: source() },
    );
    expect(rendered).toEqual({ a: TOKEN, c: ['inputs', 'static', 'profile', 'steps', 'run'] });
  });

  it('shows an expression only the secrets it names', async () => {
    const rendered = await render('{{ [secrets.token, $keys($lookup($$, "secrets"))] }}', context(), {
      secrets: source(),
    });
    expect(rendered).toEqual([TOKEN, 'token']);
    expect(await render('{{ $$.secrets.db.user }}', context(), { secrets: source() })).toBe('admin-user');
  });

  it.each(['$lookup(secrets, "token")', 'secrets.*', 'secrets[0]', '$keys(secrets)'])(
    'refuses %s, which reads secrets without naming them',
    async (expression) => {
      const secrets = source();
      const error = await failure(render(`{{ ${expression} }}`, context(), { secrets }));
      expect(error).toBeInstanceOf(ExpressionError);
      expect(error.message).toMatch(/reads secrets as a whole; name each secret, as secrets\.NAME/);
      expect(secrets.asked).toEqual([]);
    },
  );

  it('fails with ConfigurationError SecretsUnavailable when there is no secret source', async () => {
    const error = await failure(render({ h: 'Bearer {{ secrets.token }}' }, context()));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.code).toBe('SecretsUnavailable');
    expect(error.message).toMatch(/secrets\.token/);
  });

  it("passes on the source's error for a secret that does not exist", async () => {
    const error = await failure(render('{{ secrets.missing }}', context(), { secrets: source() }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe("Secret 'missing' is not defined");
  });

  it('scrubs secret values from the messages of the errors it throws', async () => {
    for (const template of [
      '{{ $error("rejected " & secrets.token) }}',
      '{{ $number(secrets.token) }}',
      '{{ $number(secrets.db.password) }}',
    ]) {
      const error = await failure(render({ h: template }, context(), { secrets: source() }));
      expect(error.message).toContain(REDACTED);
      expect(error.message).not.toContain(TOKEN);
      expect(error.message).not.toContain('pa55-word');
      expect(String(error.stack)).not.toContain(TOKEN);
    }
  });

  it('scrubs error messages with the redactor it was given, which then holds the secrets', async () => {
    const redactor = new Redactor();
    const error = await failure(
      render('{{ $error(secrets.token) }}', context(), { secrets: source(), redactor }),
    );
    expect(error.message).toMatch(/\[REDACTED\]/);
    expect(redactor.size).toBe(1);
  });

  it('gives the redactor what an expression computes from a secret, as well as the secret', async () => {
    const redactor = new Redactor();
    const rendered = await render(
      {
        basic: "Basic {{ $base64encode(secrets.db.user & ':' & secrets.db.password) }}",
        upper: '{{ $uppercase(secrets.token) }}',
        parts: "{{ $split(secrets.token, '-') }}",
        port: '{{ secrets.db.port + 1 }}',
        longer: '{{ $length(secrets.token) > 4 }}',
        plain: '{{ inputs.customer }}',
      },
      context(),
      { secrets: source(), redactor },
    );
    expect(redactor.scrub(rendered)).toEqual({
      basic: `Basic ${REDACTED}`,
      upper: REDACTED,
      parts: [REDACTED, REDACTED, REDACTED],
      port: REDACTED,
      // A boolean is one bit, and every `true` of an output would go with it.
      longer: true,
      plain: 'Ann',
    });
    // Only the secrets themselves are handed on (to the process's log redactor): what is computed
    // from them differs from run to run, and would grow it without end.
    expect([...redactor.values()].sort()).toEqual(
      [DB, TOKEN, 'admin-user', 'nested-key', 'pa55-word'].sort(),
    );
  });

  it('does not count what the run context holds among the values computed from a secret', async () => {
    const items = Object.fromEntries(Array.from({ length: 1_200 }, (_, i) => [`item${i}`, `value ${i}`]));
    const redactor = new Redactor();
    const merged = (await render(
      "{{ $merge([inputs, {'auth': 'Bearer ' & secrets.token}]) }}",
      {
        ...context(),
        inputs: items,
      },
      { secrets: source(), redactor },
    )) as Record<string, string>;
    expect(Object.keys(merged)).toHaveLength(1_201);
    expect(redactor.scrub(merged)).toMatchObject({ item7: 'value 7', auth: REDACTED });
  });

  it('refuses an expression that reads a secret and renders more values than it can redact', async () => {
    const error = await failure(
      render('{{ $map([1..1001], function($i) { secrets.token & $string($i) }) }}', context(), {
        secrets: source(),
      }),
    );
    expect(error).toBeInstanceOf(ExpressionError);
    expect(error.message).toMatch(/more than 1000 strings and numbers/);
    expect(error.message).not.toContain(TOKEN);
    // At the bound itself it renders.
    const rendered = await render(
      '{{ $map([1..1000], function($i) { secrets.token & $string($i) }) }}',
      context(),
      { secrets: source() },
    );
    expect(rendered).toHaveLength(1000);
  });
});

describe('Redactor', () => {
  it('replaces every occurrence of a secret inside strings, keys included, in a deep copy', () => {
    const redactor = new Redactor();
    redactor.add('hunter22');
    const value = {
      'key-hunter22': ['x hunter22 y', { deep: 'hunter22hunter22' }],
      n: 3,
      ok: true,
      none: null,
    };
    const scrubbed = redactor.scrub(value);
    expect(scrubbed).toEqual({
      [`key-${REDACTED}`]: [`x ${REDACTED} y`, { deep: `${REDACTED}${REDACTED}` }],
      n: 3,
      ok: true,
      none: null,
    });
    expect(value['key-hunter22'][0]).toBe('x hunter22 y');
  });

  it('replaces a secret shorter than 4 characters only when it is the whole string', () => {
    const redactor = new Redactor();
    redactor.add('on');
    expect(redactor.scrub({ a: 'on', b: 'one moon', c: ['on'] })).toEqual({
      a: REDACTED,
      b: 'one moon',
      c: [REDACTED],
    });
  });

  it('replaces the longest secret first when one contains another', () => {
    const redactor = new Redactor();
    redactor.add('abcd');
    redactor.add('abcdefgh');
    expect(redactor.scrubText('xx abcdefgh abcd')).toBe(`xx ${REDACTED} ${REDACTED}`);
  });

  it('also finds a secret as it appears inside JSON text or a URL', () => {
    const redactor = new Redactor();
    redactor.add('p"a s/s');
    expect(redactor.scrubText(JSON.stringify({ password: 'p"a s/s' }))).toBe(`{"password":"${REDACTED}"}`);
    expect(redactor.scrubText(`https://x.test/?pw=${encodeURIComponent('p"a s/s')}`)).toBe(
      `https://x.test/?pw=${REDACTED}`,
    );
  });

  it('finds a secret as a URL path shows it, which encodes spaces but not + or =', () => {
    const redactor = new Redactor();
    redactor.add('tok en+9=Zq"é');
    const path = new URL(`https://x.test/users/${'tok en+9=Zq"é'}/x`).pathname;
    expect(path).not.toContain(encodeURIComponent('tok en+9=Zq"é'));
    expect(redactor.scrubText(path)).toBe(`/users/${REDACTED}/x`);
  });

  it('finds a secret as JSON encoders that escape slashes write it, and percent-encoded in lower case', () => {
    const redactor = new Redactor();
    redactor.add('pa/ss wd');
    expect(redactor.scrubText('{"password":"pa\\/ss wd"}')).toBe(`{"password":"${REDACTED}"}`);
    expect(redactor.scrubText('?pw=pa%2fss%20wd')).toBe(`?pw=${REDACTED}`);
    // A form's `+` for a space, and Go's JSON, which writes `&`, `<` and `>` as \u escapes.
    redactor.add('Sup3r/Secr3t+Key=Value&x y');
    expect(redactor.scrubText('k=Sup3r%2FSecr3t%2BKey%3DValue%26x+y')).toBe(`k=${REDACTED}`);
    expect(redactor.scrubText('{"k":"Sup3r/Secr3t+Key=Value\\u0026x y"}')).toBe(`{"k":"${REDACTED}"}`);
  });

  it('finds a secret lower-cased, as a URL host gives it back, and upper-cased', () => {
    const redactor = new Redactor();
    redactor.add('s3cr3tValue-XYZ123');
    expect(redactor.scrubText('getaddrinfo ENOTFOUND s3cr3tvalue-xyz123.invalid; S3CR3TVALUE-XYZ123')).toBe(
      'getaddrinfo ENOTFOUND [REDACTED].invalid; [REDACTED]',
    );
  });

  it('treats characters special to regular expressions literally', () => {
    const redactor = new Redactor();
    redactor.add('a.b*c+(d)');
    expect(redactor.scrubText('axbbbc+(d) a.b*c+(d)')).toBe(`axbbbc+(d) ${REDACTED}`);
  });

  it('counts distinct secrets and ignores the empty string', () => {
    const redactor = new Redactor();
    redactor.add('first-secret');
    redactor.add('first-secret');
    redactor.add('');
    expect(redactor.size).toBe(1);
    expect([...redactor.values()]).toEqual(['first-secret']);
    expect(redactor.scrubText('')).toBe('');
  });

  it('returns text unchanged and still copies values when it knows no secret', () => {
    const redactor = new Redactor();
    const value = { a: ['b'] };
    expect(redactor.scrubText('anything')).toBe('anything');
    expect(redactor.scrub(value)).toEqual(value);
    expect(redactor.scrub(value)).not.toBe(value);
  });

  it('keeps a __proto__ key as data when copying', () => {
    const redactor = new Redactor();
    redactor.add('secret-value');
    const scrubbed = redactor.scrub(JSON.parse('{"__proto__": {"x": "secret-value"}}')) as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(scrubbed)).toBe(Object.prototype);
    expect(Object.hasOwn(scrubbed, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(scrubbed, '__proto__')?.value).toEqual({ x: REDACTED });
  });

  it('replaces a value computed from a secret as a secret, a number also as a whole value, without handing it on', () => {
    const redactor = new Redactor();
    redactor.add('the-secret');
    redactor.addDerived('THE-SECRET');
    redactor.addDerived(73519);
    redactor.addDerived(Number.NaN);
    redactor.addDerived('');
    // Shorter than 4 characters, a string or a number is not tracked: every `1` or `yes` would go.
    redactor.addDerived(1);
    redactor.addDerived(-42);
    redactor.addDerived('yes');
    expect(
      redactor.scrub({
        a: 'x THE-SECRET y',
        b: 73519,
        c: 'pin 73519',
        d: 73520,
        e: '',
        f: [1, -42, '1', 'yes'],
      }),
    ).toEqual({
      a: `x ${REDACTED} y`,
      b: REDACTED,
      c: `pin ${REDACTED}`,
      d: 73520,
      e: '',
      f: [1, -42, '1', 'yes'],
    });
    expect(redactor.size).toBe(1);
    expect([...redactor.values()]).toEqual(['the-secret']);
  });

  it('returns values that are not JSON-like data as they are', () => {
    const redactor = new Redactor();
    redactor.add('secret-value');
    const date = new Date(0);
    expect(redactor.scrub(date)).toBe(date);
    expect(redactor.scrub(42)).toBe(42);
  });
});
