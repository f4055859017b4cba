/**
 * Checks the API key (`Authorization: Bearer <key>` or `x-api-key`) against the SHA-256 hashes of
 * the accepted keys, in constant time. Without hashes (the local default) every request passes.
 * Some paths need no key: liveness and the API's own description, and `POST /v1/callbacks/{token}`,
 * where the single-use token is the credential (CONTRACT §8), so a link in a mail works.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from '../http-error.js';
import { type ApiEvent, methodOf, pathOf } from '../request.js';

/** An accepted key: the SHA-256 hex of its value, and the principal it names, if any (CONTRACT §8). */
export interface ApiKey {
  sha256: string;
  principal?: string;
}

export interface ApiKeyAuthOptions {
  /** The accepted keys; undefined turns authentication off. */
  keys?: readonly ApiKey[] | undefined;
  /** Paths anyone may call, whole paths or patterns (default PUBLIC_PATHS). */
  publicPaths?: ReadonlyArray<string | RegExp>;
}

/**
 * Liveness, the API's description, callbacks (the token is the credential) and webhooks (the
 * signature is; a webhook listener without one asks for the API key itself: routes/hooks.ts).
 */
export const PUBLIC_PATHS: ReadonlyArray<string | RegExp> = [
  '/healthz',
  '/openapi.json',
  '/docs',
  /^\/v1\/callbacks\/[^/]+$/,
  /^\/v1\/hooks\/[^/]+$/,
];

export function isPublicPath(
  path: string,
  publicPaths: ReadonlyArray<string | RegExp> = PUBLIC_PATHS,
): boolean {
  return publicPaths.some((p) => (typeof p === 'string' ? p === path : p.test(path)));
}

const defaults = {
  keys: undefined as readonly ApiKey[] | undefined,
  publicPaths: PUBLIC_PATHS,
};

export function apiKeyAuth(
  options: ApiKeyAuthOptions = {},
): middy.MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const { keys, publicPaths } = { ...defaults, ...options };

  const apiKeyAuthBefore: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (
    request,
  ) => {
    if (keys === undefined) return;
    const event = request.event;
    if (methodOf(event) === 'OPTIONS' || isPublicPath(pathOf(event), publicPaths)) return;
    const match = requireApiKey(event.headers, keys);
    // The key's principal travels as a Lambda authorizer's context would (principalOf reads it).
    if (match.principal !== undefined) {
      (event.requestContext as { authorizer?: unknown }).authorizer = {
        lambda: { principal: match.principal },
      };
    }
  };

  return { before: apiKeyAuthBefore };
}

/**
 * Parses `FLOWRUNNER_API_KEYS`: comma-separated keys, each `key` or `principal=key`. A principal may
 * not contain `=` or `,`; a key may (only the first `=` separates them).
 */
export function apiKeysFromSetting(setting: string | undefined, hash: (value: string) => string): ApiKey[] {
  return (setting ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const at = entry.indexOf('=');
      if (at <= 0) return { sha256: hash(entry) };
      return { principal: entry.slice(0, at).trim(), sha256: hash(entry.slice(at + 1).trim()) };
    });
}

/** The accepted key the request presents; 401 when it presents none or one not accepted. */
export function requireApiKey(headers: ApiEvent['headers'], keys: readonly ApiKey[]): ApiKey {
  const key = presentedKey(headers);
  if (key === undefined)
    throw unauthorized('An API key is required: Authorization: Bearer <key> or x-api-key');
  const digest = createHash('sha256').update(key).digest();
  // Compare against every hash, so the time taken does not tell which one (or whether any) matched.
  let match: ApiKey | undefined;
  for (const accepted of keys) {
    const expected = Buffer.from(accepted.sha256.toLowerCase(), 'hex');
    if (expected.length === 32 && timingSafeEqual(digest, expected)) match ??= accepted;
  }
  if (!match) throw unauthorized('The API key is not valid');
  return match;
}

function presentedKey(headers: ApiEvent['headers']): string | undefined {
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
