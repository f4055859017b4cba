/**
 * The HttpClient port over node:http and node:https. Host names are resolved by our own `lookup`,
 * which checks every address before the socket connects to one of them: the address checked is
 * the address used, so DNS rebinding has no gap to slip through.
 */
import dns, { type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import zlib from 'node:zlib';
import { FlowrunnerError, StepError } from '../errors.js';
import {
  HttpErrorCode,
  httpAborted,
  httpNetworkError,
  httpTimeout,
  responseTooLarge,
  targetForbidden,
} from '../net/http-errors.js';
import {
  type AddressDecision,
  checkRequestUrl,
  decideAddress,
  literalAddress,
  type NetworkAccess,
  networkAccess,
} from '../net/ssrf.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../ports/index.js';

/** One address a connection could be made to, as the address policy sees it. */
export interface ConnectTarget {
  /** The host as written in the URL (a name, or the literal address). */
  host: string;
  port: number;
  address: string;
}

export type AddressPolicy = (target: ConnectTarget, access: NetworkAccess) => AddressDecision;

/** CONTRACT §5: the address alone decides; the port and the name play no part. */
export const defaultAddressPolicy: AddressPolicy = (target, access) => decideAddress(target.address, access);

export interface NodeHttpClientOptions {
  /** Resolves a host name to all of its addresses. Default: the system resolver (`dns.lookup`). */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
  /** Judges every address before a connection is made. Default: `defaultAddressPolicy`. */
  addressPolicy?: AddressPolicy;
}

export interface NodeHttpClient extends HttpClient {
  /** Closes the pooled keep-alive connections (at shutdown, or at the end of a test). */
  close(): void;
}

const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Headers that describe the body: they go when a redirect turns the request into a GET. */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language'] as const;
/**
 * The only headers that follow a redirect to another origin: what describes the request and its
 * body. Any other may carry a credential (`Authorization`, `Cookie`, and the `X-Api-Key`s services
 * invent), and a service's headers never go to another host.
 */
const CROSS_ORIGIN_HEADERS: ReadonlySet<string> = new Set([
  ...BODY_HEADERS,
  'accept',
  'accept-encoding',
  'accept-language',
  'user-agent',
  'idempotency-key',
]);

const systemResolve = (hostname: string): Promise<LookupAddress[]> =>
  dns.promises.lookup(hostname, { all: true });

interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export function createNodeHttpClient(options: NodeHttpClientOptions = {}): NodeHttpClient {
  const resolve = options.resolve ?? systemResolve;
  const policy = options.addressPolicy ?? defaultAddressPolicy;

  // An Agent pools sockets by host and port alone, so a socket opened while private networks were
  // allowed must never serve a request that refuses them: one pool per access level.
  const pool = () => ({
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true }),
  });
  const agents: Record<NetworkAccess, ReturnType<typeof pool>> = {
    public: pool(),
    loopback: pool(),
    private: pool(),
  };

  function check(target: ConnectTarget, access: NetworkAccess): void {
    const decision = policy(target, access);
    if (!decision.allowed) throw targetForbidden(target.host, decision);
  }

  async function resolveChecked(host: string, port: number, access: NetworkAccess): Promise<LookupAddress[]> {
    const addresses = await resolve(host);
    if (addresses.length === 0) {
      throw Object.assign(new Error(`${host} has no addresses`), { code: 'ENOTFOUND' });
    }
    // A name with one refused address is refused as a whole: which address the socket would
    // pick is not ours to predict, and a name that mixes public and private is suspect.
    for (const { address } of addresses) check({ host, port, address }, access);
    return addresses;
  }

  function checkedLookup(port: number, access: NetworkAccess): LookupFunction {
    return (hostname, lookupOptions, callback) => {
      resolveChecked(hostname, port, access).then(
        (addresses) => {
          const [first] = addresses as [LookupAddress];
          if (lookupOptions.all) callback(null, addresses);
          else callback(null, first.address, first.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, '', 0),
      );
    };
  }

  function open(hop: Hop, access: NetworkAccess, signal: AbortSignal): Promise<http.IncomingMessage> {
    const { url } = hop;
    const secure = url.protocol === 'https:';
    const port = Number(url.port) || (secure ? 443 : 80);
    const literal = literalAddress(url);
    if (literal !== undefined) check({ host: literal, port, address: literal }, access);
    const agent = agents[access];

    return new Promise((resolveResponse, reject) => {
      let outgoing: http.ClientRequest;
      try {
        outgoing = (secure ? https : http).request(
          {
            protocol: url.protocol,
            hostname: literal ?? url.hostname,
            port,
            path: url.pathname + url.search,
            method: hop.method,
            headers: hop.headers,
            agent: secure ? agent.https : agent.http,
            lookup: checkedLookup(port, access),
            signal,
          },
          resolveResponse,
        );
      } catch (cause) {
        // Node refuses malformed header names and values before anything is sent.
        const message = cause instanceof Error ? cause.message : String(cause);
        reject(new StepError(HttpErrorCode.invalidRequest, message, { retryable: false, cause }));
        return;
      }
      outgoing.on('error', (error) => reject(error));
      outgoing.end(hop.body);
    });
  }

  async function exchange(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const maxRedirects = request.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    let hop: Hop = {
      url: checkRequestUrl(request.url),
      method: request.method.toUpperCase(),
      headers: lowerCaseKeys(request.headers),
      body: request.body,
    };
    for (let redirects = 0; ; redirects += 1) {
      try {
        const response = await open(hop, networkAccess(request), signal);
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (!REDIRECT_STATUSES.has(status) || location === undefined) {
          const body = await readBody(response, hop.method, request.maxResponseBytes);
          return { status, headers: flattenHeaders(response.headers), body, url: hop.url.href };
        }
        // A redirect's own body is of no interest, and draining it could take unbounded time.
        response.destroy();
        if (redirects >= maxRedirects) {
          throw new StepError(HttpErrorCode.tooManyRedirects, `more than ${maxRedirects} redirects`, {
            retryable: false,
            details: { max_redirects: maxRedirects },
          });
        }
        hop = redirected(hop, status, location);
      } catch (error) {
        if (error instanceof FlowrunnerError || signal.aborted) throw error;
        throw httpNetworkError(hop.url.host, error);
      }
    }
  }

  return {
    async request(request) {
      if (request.signal?.aborted) throw httpAborted(request.signal);
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(
        () => {
          timedOut = true;
          controller.abort();
        },
        Math.max(0, request.timeoutMs),
      );
      const forwardAbort = () => controller.abort();
      request.signal?.addEventListener('abort', forwardAbort, { once: true });
      try {
        return await exchange(request, controller.signal);
      } catch (error) {
        if (error instanceof FlowrunnerError) throw error;
        if (timedOut) throw httpTimeout(request.timeoutMs);
        if (request.signal?.aborted) throw httpAborted(request.signal);
        throw error;
      } finally {
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', forwardAbort);
      }
    },
    close() {
      for (const pool of Object.values(agents)) {
        pool.http.destroy();
        pool.https.destroy();
      }
    },
  };
}

/** The next hop of a redirect, following what browsers and fetch do. */
function redirected(hop: Hop, status: number, location: string): Hop {
  let target: string;
  try {
    target = new URL(location, hop.url).href;
  } catch (cause) {
    throw new StepError(HttpErrorCode.invalidUrl, `redirect to an invalid URL: ${JSON.stringify(location)}`, {
      retryable: false,
      cause,
    });
  }
  const url = checkRequestUrl(target);
  const headers = { ...hop.headers };
  let { method, body } = hop;
  const becomesGet =
    (status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST');
  if (becomesGet) {
    method = 'GET';
    body = undefined;
    for (const name of BODY_HEADERS) delete headers[name];
  }
  if (url.origin !== hop.url.origin) {
    for (const name of Object.keys(headers)) {
      if (!CROSS_ORIGIN_HEADERS.has(name.toLowerCase())) delete headers[name];
    }
  }
  return { url, method, headers, body };
}

/** The body as text, refused as soon as it grows past the limit; the socket goes with it. */
async function readBody(response: http.IncomingMessage, method: string, limit: number): Promise<string> {
  const encoding = response.headers['content-encoding']?.trim().toLowerCase();
  // A HEAD answer declares the length of a body it does not send.
  const declared = method === 'HEAD' ? 0 : Number(response.headers['content-length']);
  if (encoding === undefined && declared > limit) {
    response.destroy();
    throw responseTooLarge(limit);
  }
  const source = method === 'HEAD' ? response : decoded(response, encoding);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      // Leaving the loop destroys `source`; the response is destroyed too, in case `source` is a decoder.
      response.destroy();
      throw responseTooLarge(limit);
    }
    chunks.push(chunk);
  }
  return decodeText(Buffer.concat(chunks, size), response.headers['content-type']);
}

/** The response, decompressed when the server compressed it; the limit applies to what comes out. */
function decoded(response: http.IncomingMessage, encoding: string | undefined): Readable {
  const flush = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip(flush)
      : encoding === 'deflate'
        ? zlib.createInflate(flush)
        : encoding === 'br'
          ? zlib.createBrotliDecompress({ finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH })
          : undefined;
  // Errors of either stream reach the reader through the decoder, which pipeline destroys.
  return decoder === undefined ? response : pipeline(response, decoder, () => {});
}

function decodeText(bytes: Buffer, contentType: string | undefined): string {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    // An unknown charset label: UTF-8 is the best guess left.
    return new TextDecoder().decode(bytes);
  }
}

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  const lower: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) lower[name.toLowerCase()] = value;
  return lower;
}
