/** The StepErrors every HttpClient adapter raises, so the node and in-memory clients fail alike. */
import { FlowrunnerError, StepError } from '../errors.js';
import type { AddressDecision } from './ssrf.js';

export const HttpErrorCode = {
  timeout: 'HttpTimeout',
  networkError: 'HttpNetworkError',
  targetForbidden: 'HttpTargetForbidden',
  responseTooLarge: 'HttpResponseTooLarge',
  responseTooDeep: 'HttpResponseTooDeep',
  tooManyRedirects: 'HttpTooManyRedirects',
  invalidUrl: 'HttpInvalidUrl',
  invalidRequest: 'HttpInvalidRequest',
  aborted: 'HttpAborted',
} as const;
export type HttpErrorCode = (typeof HttpErrorCode)[keyof typeof HttpErrorCode];

export function httpTimeout(timeoutMs: number): StepError {
  return new StepError(HttpErrorCode.timeout, `the request did not complete within ${timeoutMs} ms`, {
    retryable: true,
    details: { timeout_ms: timeoutMs },
  });
}

export function httpNetworkError(host: string, cause: unknown): StepError {
  const code = (cause as { code?: unknown } | null)?.code;
  // When every address of a name fails, Node throws an AggregateError whose message may be empty.
  const reason =
    (cause instanceof Error && cause.message) || (typeof code === 'string' ? code : String(cause));
  return new StepError(HttpErrorCode.networkError, `request to ${host} failed: ${reason}`, {
    retryable: true,
    cause,
    details: typeof code === 'string' ? { host, error: code } : { host },
  });
}

/** The message names the host and why; the remedy is only offered where the setting can help. */
export function targetForbidden(host: string, decision: AddressDecision): StepError {
  const target = host === decision.address ? host : `${host} (${decision.address})`;
  const remedy =
    decision.category === 'cloudMetadata'
      ? 'cloud metadata endpoints are never allowed'
      : 'set FLOWRUNNER_ALLOW_PRIVATE_NETWORK=true to allow private networks';
  return new StepError(HttpErrorCode.targetForbidden, `refused ${target}: ${decision.reason}; ${remedy}`, {
    retryable: false,
    details: { host, address: decision.address, category: decision.category },
  });
}

export function responseTooLarge(maxResponseBytes: number): StepError {
  return new StepError(
    HttpErrorCode.responseTooLarge,
    `the response body is larger than ${maxResponseBytes} bytes (max_response_bytes)`,
    { retryable: false, details: { max_response_bytes: maxResponseBytes } },
  );
}

/**
 * The caller's signal fired. A FlowrunnerError given as the abort reason (say the engine's own
 * timeout) is passed on as it is; `AbortSignal.timeout()` reads as a timeout.
 */
export function httpAborted(signal: AbortSignal): FlowrunnerError {
  const reason: unknown = signal.reason;
  if (reason instanceof FlowrunnerError) return reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return new StepError(HttpErrorCode.timeout, 'the request was aborted: its time is up', {
      retryable: true,
      cause: reason,
    });
  }
  return new StepError(HttpErrorCode.aborted, 'the request was aborted', { retryable: true, cause: reason });
}
