/**
 * Checks the API key (`Authorization: Bearer <key>` or `x-api-key`) against the SHA-256 hashes of
 * the accepted keys, in constant time. Without hashes (the local default) every request passes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from '../http-error.js';
import { type ApiEvent, lowerHeaders, methodOf, pathOf } from '../request.js';

export interface ApiKeyAuthOptions {
  /** SHA-256 hex of the accepted keys; undefined turns authentication off. */
  hashes?: string[] | undefined;
  /** Paths anyone may call (liveness). */
  publicPaths?: string[];
}

const defaults = {
  hashes: undefined as string[] | undefined,
  publicPaths: ['/healthz', '/openapi.json', '/docs'],
};

export function sha256Hex(value: string | Uint8Array): string {
  return createHash('sha256').update(value).digest('hex');
}

export function apiKeyAuth(
  options: ApiKeyAuthOptions = {},
): middy.MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const { hashes, publicPaths } = { ...defaults, ...options };
  const accepted = (hashes ?? [])
    .map((h) => Buffer.from(h.toLowerCase(), 'hex'))
    .filter((b) => b.length === 32);

  const apiKeyAuthBefore: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (
    request,
  ) => {
    if (hashes === undefined) return;
    const event = request.event;
    if (methodOf(event) === 'OPTIONS' || publicPaths.includes(pathOf(event))) return;
    const key = presentedKey(lowerHeaders(event.headers));
    if (key === undefined)
      throw unauthorized('An API key is required: Authorization: Bearer <key> or x-api-key');
    const digest = createHash('sha256').update(key).digest();
    // Compare against every hash, so the time taken does not tell which one (or whether any) matched.
    let ok = false;
    for (const hash of accepted) ok = timingSafeEqual(digest, hash) || ok;
    if (!ok) throw unauthorized('The API key is not valid');
  };

  return { before: apiKeyAuthBefore };
}

function presentedKey(headers: Record<string, string>): string | undefined {
  const auth = headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  const key = headers['x-api-key']?.trim();
  return key ? key : undefined;
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'Unauthorized', message, { headers: { 'www-authenticate': 'Bearer' } });
}
