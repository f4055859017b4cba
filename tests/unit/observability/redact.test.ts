/** The redaction corpus: what must be taken out of a log line, and what must stay as it is. */
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../../shared/expressions/redactor.js';
import { isCardNumber, REDACTED, redactText, redactValue } from '../../../shared/observability/redact.js';

const secrets = new Redactor();
secrets.add('s3cr3t-mail-token-91');
secrets.add('flowrunner-key-abc123');

const TOKEN = 'Qm9vdHN0cmFwLXRva2VuLXRoaXJ0eS10d28tYnl0ZXM';

/** [what, input, the part that must be gone] */
const POSITIVE: Array<[string, string, string]> = [
  ['a resolved secret', 'sent with s3cr3t-mail-token-91 attached', 's3cr3t-mail-token-91'],
  ['a secret JSON-escaped', '{"auth":"s3cr3t-mail-token-91"}', 's3cr3t-mail-token-91'],
  ['a configured API key', 'key=flowrunner-key-abc123', 'flowrunner-key-abc123'],
  ['a Bearer header', 'Authorization: Bearer abc.def.ghi', 'abc.def.ghi'],
  ['a Basic header', 'authorization=Basic dXNlcjpwYXNz', 'dXNlcjpwYXNz'],
  ['a bare Bearer token', 'sent Bearer eyJhbGciOiJIUzI1NiJ9.e30.x', 'eyJhbGciOiJIUzI1NiJ9'],
  ['x-api-key in text', 'x-api-key: k-123456', 'k-123456'],
  ['x-api-key in JSON text', '{"x-api-key":"k-7890abc"}', 'k-7890abc'],
  ['a cookie header', 'Cookie: session=abcdef123', 'session=abcdef123'],
  ['a callback path', 'POST /v1/callbacks/abc_DEF-123 answered', 'abc_DEF-123'],
  ['a callback URL', 'https://flow.example.com/v1/callbacks/tok123?x=1', 'tok123'],
  [
    'a personal link of letters only',
    '{"path":"/console/tasks/XsEdZTIqHwgsjfIeGz_qrurZEx-DzFvCLrps-iSmWGc"}',
    'XsEdZTIqHwgsjfIeGz_qrurZEx-DzFvCLrps-iSmWGc',
  ],
  ['a bare callback token', `token ${TOKEN} issued`, TOKEN],
  ['an api_key query parameter', '/hook?api_key=zzz999&x=1', 'zzz999'],
  ['a token query parameter', 'GET /x?token=abc123', 'abc123'],
  ['an OpenAI key', 'using sk-proj-abcdefghijklmnop1234', 'sk-proj-abcdefghijklmnop1234'],
  ['an AWS access key id', 'AKIAIOSFODNN7EXAMPLE used', 'AKIAIOSFODNN7EXAMPLE'],
  ['a GitHub token', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789'],
  ['an e-mail address', 'mail ada@example.com now', 'ada@example.com'],
  ['an e-mail with plus and subdomain', 'to: a.b+tag@mail.example.co.uk', 'a.b+tag@mail.example.co.uk'],
  ['an international phone', 'call +1 415 555 2671', '415 555 2671'],
  ['an E.164 phone', 'sms +447911123456', '447911123456'],
  ['a phone with brackets', 'phone (415) 555-2671', '555-2671'],
  ['a dashed US phone', 'phone 415-555-2671', '415-555-2671'],
  ['a dotted US phone', 'phone 415.555.2671', '415.555.2671'],
  ['a UK national phone', 'tel 020 7946 0958', '7946 0958'],
  ['an SSN', 'ssn 123-45-6789', '123-45-6789'],
  ['an SSN in a sentence', 'SSN:078-05-1120.', '078-05-1120'],
  ['a Visa number', 'card 4111111111111111', '4111111111111111'],
  ['a spaced Visa number', 'card 4111 1111 1111 1111', '4111 1111 1111 1111'],
  ['a dashed Mastercard', 'card 5555-5555-5555-4444', '5555-5555-5555-4444'],
  ['an Amex number', 'amex 378282246310005', '378282246310005'],
  ['a Discover number', 'disc 6011111111111117', '6011111111111117'],
];

/** Strings that must come out exactly as they went in. */
const NEGATIVE: Array<[string, string]> = [
  ['an ISO date', '2024-01-15'],
  ['an ISO timestamp', '2024-01-15T10:20:30.123Z'],
  ['a run id', 'run_01HZX3K9QPM2N7V4T8WJ6RC5AB'],
  ['a UUID', '123e4567-e89b-12d3-a456-426614174000'],
  ['an all-digit UUID', '12345678-1234-5678-1234-567812345678'],
  ['a version number', 'v1.2.3'],
  ['a long version number', '10.20.3000'],
  ['an amount', 'amount 2500'],
  ['an amount with cents', 'total 1234567.89 EUR'],
  ['a grouped amount', '1,234,567.89'],
  ['an epoch in ms', '1718000000000'],
  ['a number that fails Luhn', '4111111111111112'],
  ['sixteen digits without a card prefix', '1234567812345678'],
  ['an IP address', '192.168.100.1'],
  ['a time of day', '12:30:45'],
  ['a workflow path', '/v1/workflows/order-checks/versions/3'],
  ['an executions path', '/v1/executions/run_01HZX3K9QPM2N7V4T8WJ6RC5AB/events'],
  ['an order id', 'order o-1 of 2500 accepted'],
  ['an SSN-like number no SSN has', '000-12-3456'],
  ['a SHA-256 hex digest', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['a word with at', 'meet at 10'],
  ['a handle', '@flowrunner'],
  ['the word Bearer alone', 'Bearer'],
  ['a Lambda ARN', 'arn:aws:lambda:us-east-1:123456789012:function:flowrunner-advance'],
  ['a step id with digits', 'step_2-review'],
  ['a short number', '42'],
  ['a duration', 'took 12.5 ms'],
];

describe('redactText: what goes', () => {
  it.each(POSITIVE)('%s', (_what, input, gone) => {
    const out = redactText(input, secrets);
    expect(out).not.toContain(gone);
    expect(out).toContain(REDACTED);
  });
});

describe('redactText: what stays', () => {
  it.each(NEGATIVE)('%s', (_what, input) => {
    expect(redactText(input, secrets)).toBe(input);
  });
});

describe('redactValue', () => {
  it('redacts strings at every depth, keys included, and the whole value of sensitive keys', () => {
    const out = redactValue(
      {
        headers: { Authorization: 'Bearer x', 'x-api-key': 'k', cookie: 'a=b', accept: 'application/json' },
        run_id: 'run_01HZX3K9QPM2N7V4T8WJ6RC5AB',
        amount: 2500,
        nested: [{ note: 'mail ada@example.com', at: '2024-01-15' }, 'card 4111111111111111'],
        token: { anything: 1 },
        's3cr3t-mail-token-91': true,
        ok: null,
      },
      secrets,
    );
    expect(out).toEqual({
      headers: {
        Authorization: REDACTED,
        'x-api-key': REDACTED,
        cookie: REDACTED,
        accept: 'application/json',
      },
      run_id: 'run_01HZX3K9QPM2N7V4T8WJ6RC5AB',
      amount: 2500,
      nested: [{ note: `mail ${REDACTED}`, at: '2024-01-15' }, `card ${REDACTED}`],
      token: REDACTED,
      [REDACTED]: true,
      ok: null,
    });
  });

  it('redacts an error message and leaves cycles harmless', () => {
    const cyclic: Record<string, unknown> = { a: 'ada@example.com' };
    cyclic.self = cyclic;
    expect(redactValue(cyclic)).toEqual({ a: REDACTED, self: '[Circular]' });
    const error = redactValue({ error: new Error('failed for s3cr3t-mail-token-91') }, secrets) as {
      error: { message: string };
    };
    expect(error.error.message).toBe(`failed for ${REDACTED}`);
  });

  it('checks card numbers by prefix, length and Luhn', () => {
    expect(isCardNumber('4111111111111111')).toBe(true);
    expect(isCardNumber('4111111111111112')).toBe(false);
    expect(isCardNumber('1111111111111117')).toBe(false);
    expect(isCardNumber('411111111111')).toBe(false);
  });
});
