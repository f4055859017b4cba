/**
 * The signature schemes of webhook listeners, against vectors computed here the way each provider
 * computes them (HMAC-SHA256 over the raw bytes), and the ways a signature must fail.
 */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { deliveryId, verifySignature } from '../../../functions/api/webhook-signatures.js';

const SECRET = 'It’s a Secret to Everybody';
const NOW = new Date();
const body = new TextEncoder().encode('{"action":"opened","number":1,"text":"Grüße"}');
const hmac = (key: string | Buffer, data: string | Uint8Array) =>
  createHmac('sha256', key).update(data).digest('hex');
const verify = (
  scheme: Parameters<typeof verifySignature>[0],
  headers: Record<string, string>,
  bytes = body,
  secret = SECRET,
) => verifySignature(scheme, secret, { headers, body: bytes, now: NOW });

describe('webhook signatures', () => {
  it('github: X-Hub-Signature-256 is sha256= and the hex HMAC of the body', async () => {
    // GitHub's documented vector: secret "It's a Secret to Everybody", payload "Hello, World!".
    const docs = new TextEncoder().encode('Hello, World!');
    expect(
      await verify(
        'github',
        { 'x-hub-signature-256': 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17' },
        docs,
        "It's a Secret to Everybody",
      ),
    ).toBe(true);
    const good = `sha256=${hmac(SECRET, body)}`;
    expect(await verify('github', { 'x-hub-signature-256': good })).toBe(true);
    expect(
      await verify(
        'github',
        { 'x-hub-signature-256': good },
        new TextEncoder().encode('{"action":"closed"}'),
      ),
    ).toBe(false);
    expect(await verify('github', { 'x-hub-signature-256': good }, body, 'other')).toBe(false);
    expect(await verify('github', { 'x-hub-signature-256': hmac(SECRET, body) })).toBe(false);
    expect(await verify('github', {})).toBe(false);
    // Bytes that are not UTF-8 cannot be what GitHub signed.
    expect(await verify('github', { 'x-hub-signature-256': good }, new Uint8Array([0xff, 0xfe]))).toBe(false);
  });

  it('stripe: t and v1 over "<t>.<body>", within 5 minutes', async () => {
    const t = Math.floor(NOW.getTime() / 1000);
    const sign = (at: number) => hmac(SECRET, Buffer.concat([Buffer.from(`${at}.`), body]));
    expect(await verify('stripe', { 'stripe-signature': `t=${t},v1=${sign(t)}` })).toBe(true);
    // A rolled secret: one of several v1 values matches; v0 is ignored.
    expect(
      await verify('stripe', { 'stripe-signature': `t=${t},v1=${'0'.repeat(64)},v1=${sign(t)},v0=abc` }),
    ).toBe(true);
    expect(await verify('stripe', { 'stripe-signature': `t=${t - 299},v1=${sign(t - 299)}` })).toBe(true);
    expect(await verify('stripe', { 'stripe-signature': `t=${t - 301},v1=${sign(t - 301)}` })).toBe(false);
    expect(await verify('stripe', { 'stripe-signature': `t=${t + 301},v1=${sign(t + 301)}` })).toBe(false);
    // The timestamp is signed: moving it breaks the signature.
    expect(await verify('stripe', { 'stripe-signature': `t=${t + 1},v1=${sign(t)}` })).toBe(false);
    expect(await verify('stripe', { 'stripe-signature': `v1=${sign(t)}` })).toBe(false);
    expect(await verify('stripe', { 'stripe-signature': 'garbage' })).toBe(false);
  });

  it('standard: webhook-id, webhook-timestamp and webhook-signature (v1, base64 HMAC of "<id>.<t>.<body>")', async () => {
    const key = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const secret = `whsec_${key.toString('base64')}`;
    const t = Math.floor(NOW.getTime() / 1000);
    const own = createHmac('sha256', key).update(`msg_1.${t}.`).update(body).digest('base64');
    const headers = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(t),
      'webhook-signature': `v1,${own}`,
    };
    expect(await verify('standard', headers, body, secret)).toBe(true);
    // The library's own signer agrees with the vector.
    expect(new Webhook(secret).sign('msg_1', new Date(t * 1000), body)).toBe(`v1,${own}`);
    expect(await verify('standard', { ...headers, 'webhook-id': 'msg_2' }, body, secret)).toBe(false);
    expect(await verify('standard', { ...headers, 'webhook-timestamp': String(t - 600) }, body, secret)).toBe(
      false,
    );
    expect(await verify('standard', { 'webhook-id': 'msg_1' }, body, secret)).toBe(false);
    expect(await verify('standard', headers, body, 'whsec_')).toBe(false);
  });

  it('hmac-sha256: X-Signature is the hex HMAC of the body, sha256= optional', async () => {
    const good = hmac(SECRET, body);
    expect(await verify('hmac-sha256', { 'x-signature': good })).toBe(true);
    expect(await verify('hmac-sha256', { 'x-signature': `sha256=${good.toUpperCase()}` })).toBe(true);
    expect(await verify('hmac-sha256', { 'x-signature': good.slice(0, -1) })).toBe(false);
    expect(
      await verify('hmac-sha256', {
        'x-signature': `${good.slice(0, -1)}0` === good ? 'x' : `${good.slice(0, -1)}0`,
      }),
    ).toBe(false);
    expect(await verify('hmac-sha256', {})).toBe(false);
  });

  it('takes the delivery id a listener’s scheme vouches for, else a hash of the body', () => {
    const hash = deliveryId('hmac-sha256', {}, body);
    // A Stripe event: its id is read from the signed bytes, whatever content type the request names.
    const stripeBody = new TextEncoder().encode('{"id":"evt_1","object":"event"}');
    const stripeHash = deliveryId('hmac-sha256', {}, stripeBody);
    expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const unsigned = { 'idempotency-key': 'evil1', 'x-github-delivery': 'evil2', 'webhook-id': 'evil3' };
    // GitHub signs the body only: its delivery id, which anyone may change, is not the key.
    expect(deliveryId('github', { ...unsigned, 'x-github-delivery': 'abc' }, body)).toBe(hash);
    expect(deliveryId('standard', { ...unsigned, 'webhook-id': 'msg_1' }, body)).toBe('id:msg_1');
    expect(deliveryId('stripe', { ...unsigned, 'stripe-signature': 't=1' }, stripeBody)).toBe('id:evt_1');
    // Headers nobody signed do not make a signed body a new delivery.
    expect(deliveryId('hmac-sha256', unsigned, stripeBody)).toBe(stripeHash);
    expect(deliveryId('stripe', unsigned, body)).toBe(hash);
    expect(deliveryId('standard', { 'x-github-delivery': 'x1', 'idempotency-key': 'k' }, body)).toBe(hash);
    // Without a signature (an API key, or an open listener): any provider's id, or an Idempotency-Key.
    expect(deliveryId(undefined, { 'x-github-delivery': 'abc' }, body)).toBe('id:abc');
    expect(deliveryId(undefined, { 'webhook-id': 'msg_1' }, body)).toBe('id:msg_1');
    expect(deliveryId(undefined, { 'stripe-signature': 't=1' }, stripeBody)).toBe('id:evt_1');
    expect(deliveryId(undefined, { 'idempotency-key': 'k1' }, body)).toBe('id:k1');
    expect(deliveryId(undefined, {}, stripeBody)).toBe(stripeHash);
  });

  it('github: verifies a body that starts with a byte order mark over the bytes sent', async () => {
    const marked = new Uint8Array([0xef, 0xbb, 0xbf, ...body]);
    const signature = `sha256=${hmac(SECRET, marked)}`;
    expect(await verify('github', { 'x-hub-signature-256': signature }, marked)).toBe(true);
    expect(await verify('github', { 'x-hub-signature-256': signature }, body)).toBe(false);
  });
});
