/**
 * An in-memory HttpClient for the engine's unit tests and the benchmark: a handler answers and every
 * request that reaches it is recorded. It keeps the port's rules (URL checks, time limit, size
 * limit, abort) but cannot resolve names, so the SSRF rule only applies to hosts written as literal
 * IP addresses: `http://127.0.0.1/` is refused without `allowPrivateNetwork`, `http://localhost/`
 * is not. Redirects are not followed: the handler's answer is the answer.
 */
import { FlowrunnerError } from '../errors.js';
import {
  httpAborted,
  httpNetworkError,
  httpTimeout,
  responseTooLarge,
  targetForbidden,
} from '../net/http-errors.js';
import { checkRequestUrl, decideAddress, literalAddress, networkAccess } from '../net/ssrf.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../ports/index.js';

/** What a handler answers; `headers` and `body` default to empty, `url` (when empty too) to the request's. */
export interface MemoryHttpAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  url?: string;
}

export type MemoryHttpHandler = (request: HttpRequest) => MemoryHttpAnswer | Promise<MemoryHttpAnswer>;

export interface MemoryHttpClient extends HttpClient {
  /** The requests that passed the checks and reached the handler, oldest first. */
  readonly requests: HttpRequest[];
}

export function createMemoryHttpClient(handler: MemoryHttpHandler): MemoryHttpClient {
  const requests: HttpRequest[] = [];
  return {
    requests,
    async request(request) {
      const url = checkRequestUrl(request.url);
      const literal = literalAddress(url);
      if (literal !== undefined) {
        const decision = decideAddress(literal, networkAccess(request));
        if (!decision.allowed) throw targetForbidden(literal, decision);
      }
      if (request.signal?.aborted) throw httpAborted(request.signal);
      requests.push(request);
      const answer = await withinLimits(request, url.host, async () => handler(request));
      const body = answer.body ?? '';
      if (Buffer.byteLength(body) > request.maxResponseBytes)
        throw responseTooLarge(request.maxResponseBytes);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(answer.headers ?? {})) headers[name.toLowerCase()] = value;
      const response: HttpResponse = { status: answer.status, headers, body, url: answer.url || url.href };
      return response;
    },
  };
}

/** Runs the handler against the request's time limit and signal, as a real exchange would. */
function withinLimits<T>(request: HttpRequest, host: string, work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const { signal } = request;
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const timer = setTimeout(
      () => finish(() => reject(httpTimeout(request.timeoutMs))),
      Math.max(0, request.timeoutMs),
    );
    const onAbort = () => finish(() => reject(httpAborted(signal as AbortSignal)));
    signal?.addEventListener('abort', onAbort, { once: true });
    work().then(
      (value) => finish(() => resolve(value)),
      (error: unknown) =>
        finish(() => reject(error instanceof FlowrunnerError ? error : httpNetworkError(host, error))),
    );
  });
}
