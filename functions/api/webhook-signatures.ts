/**
 * Webhook signatures (CONTRACT §6), each checked over the raw bytes of the body and compared in
 * constant time: `github` (X-Hub-Signature-256, through @octokit/webhooks-methods), `stripe`
 * (Stripe-Signature with a 5-minute tolerance), `standard` (Standard Webhooks, through
 * `standardwebhooks`) and plain `hmac-sha256` (X-Signature: the hex HMAC of the body, `sha256=`
 * optional). Also the delivery id each provider sends, which is the dedupe key of the fire.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { verify as verifyGithub } from '@octokit/webhooks-methods';
import { Webhook } from 'standardwebhooks';
import { sha256Hex } from '../../shared/crypto.js';
import type { SignatureScheme } from '../../shared/triggers/listener-match.js';

/** Stripe's own libraries refuse events signed longer ago (or further ahead) than this. */
export const STRIPE_TOLERANCE_S = 300;

export interface SignedRequest {
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Uint8Array;
  now: Date;
}

/** Whether the request carries a valid signature of the scheme made with `secret`; never throws. */
export async function verifySignature(
  scheme: SignatureScheme,
  secret: string,
  request: SignedRequest,
): Promise<boolean> {
  try {
    switch (scheme) {
      case 'github': {
        const signature = request.headers['x-hub-signature-256'];
        // GitHub signs the UTF-8 text of the payload; bytes that are not UTF-8 cannot verify.
        const text = utf8(request.body);
        return (
          signature !== undefined &&
          text !== undefined &&
          text !== '' &&
          (await verifyGithub(secret, text, signature))
        );
      }
      case 'stripe':
        return verifyStripe(secret, request);
      case 'standard':
        new Webhook(secret).verify(request.body, request.headers, { jsonParse: false });
        return true;
      case 'hmac-sha256': {
        const signature = request.headers['x-signature']?.trim().replace(/^sha256=/i, '');
        return signature !== undefined && equalHex(signature, hmacHex(secret, request.body));
      }
    }
  } catch {
    // A malformed header or secret is a signature that does not verify.
    return false;
  }
}

/** `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`: any v1 over `<t>.<body>` within the tolerance. */
function verifyStripe(secret: string, request: SignedRequest): boolean {
  const header = request.headers['stripe-signature'];
  if (header === undefined) return false;
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2).map((s) => s.trim());
    if (key === 't') timestamp = value;
    else if (key === 'v1' && value) signatures.push(value);
  }
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp) || signatures.length === 0) return false;
  const age = Math.abs(request.now.getTime() / 1000 - Number(timestamp));
  if (age > STRIPE_TOLERANCE_S) return false;
  const expected = hmacHex(secret, Buffer.concat([Buffer.from(`${timestamp}.`), request.body]));
  // Every candidate is compared, so the time taken does not tell which one matched.
  let valid = false;
  for (const signature of signatures) valid = equalHex(signature, expected) || valid;
  return valid;
}

export function hmacHex(secret: string, body: Uint8Array | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

function equalHex(given: string, expected: string): boolean {
  const a = Buffer.from(given.toLowerCase(), 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function utf8(bytes: Uint8Array): string | undefined {
  try {
    // With its byte order mark, if it has one: GitHub signs the bytes it sends, and a decoder drops the mark.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The dedupe key of a delivery: the delivery id its scheme vouches for, else a hash of the body, so a
 * redelivery starts no second run. A signed delivery's id is taken only where its scheme defines one,
 * and an id another provider's header carries is ignored: otherwise anyone holding one signed request
 * could replay it as new runs by adding an `Idempotency-Key` (or another provider's id) of their own.
 *
 * - `standard`: `webhook-id`, which the signature covers;
 * - `stripe`: the event's `id` in the signed body;
 * - `github` and `hmac-sha256`: the body, the one thing they sign (GitHub's `X-GitHub-Delivery` is
 *   not signed: a captured request sent again with another would be a new run; GitHub's own
 *   redeliveries send the same bytes);
 * - no signature (the caller holds an API key, or the listener is open): any of those ids, or an
 *   `Idempotency-Key`.
 */
export function deliveryId(
  scheme: SignatureScheme | undefined,
  headers: Record<string, string>,
  body: Uint8Array,
): string {
  let id: string | undefined;
  switch (scheme) {
    case 'standard':
      id = headers['webhook-id'];
      break;
    case 'stripe':
      id = eventId(body);
      break;
    case 'github':
    case 'hmac-sha256':
      break;
    case undefined:
      id =
        headers['x-github-delivery'] ??
        headers['webhook-id'] ??
        (headers['stripe-signature'] !== undefined ? eventId(body) : undefined) ??
        headers['idempotency-key'];
  }
  return id?.trim() ? `id:${id.trim()}` : `sha256:${sha256Hex(body)}`;
}

/**
 * A Stripe event's `id`, read from the signed bytes whatever the request's content type says (read
 * only from a body parsed as JSON, the same signed event sent as `text/plain` was a new delivery).
 */
function eventId(body: Uint8Array): string | undefined {
  try {
    const id = (JSON.parse(bodyText(body)) as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A body as the text JSON.parse reads: UTF-8, without the byte order mark a signature covers. */
export function bodyText(body: Uint8Array): string {
  const text = Buffer.from(body).toString('utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}
