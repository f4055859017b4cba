/**
 * The one onError middleware: turns any error into Problem Details (`application/problem+json`).
 * Below 500 the message is shown; a 500 shows a generic detail and logs the message only.
 */
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { logger as processLogger } from '../../../shared/adapters/logger.js';
import {
  ConflictError,
  type ErrorIssue,
  ForbiddenError,
  NotFoundError,
  ThrottledError,
  ValidationError,
} from '../../../shared/errors.js';
import { HttpError } from '../http-error.js';
import type { ApiEvent } from '../request.js';

export interface ProblemDetailsOptions {
  /**
   * Where the message of an unhandled error (a 500) goes; default: an error line of the process's
   * logger, JSON and redacted like every other line; `false` logs nothing.
   */
  logger?: ((message: string) => void) | false;
  /** Seconds in `Retry-After` for a throttled store. */
  retryAfterS?: number;
}

const defaults: Required<ProblemDetailsOptions> = {
  logger: (message) => processLogger.error(message),
  retryAfterS: 1,
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: Array<Pick<ErrorIssue, 'path' | 'message'> & Partial<ErrorIssue>>;
}

export function problemDetails(
  options: ProblemDetailsOptions = {},
): middy.MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const { logger, retryAfterS } = { ...defaults, ...options };

  const problemDetailsOnError: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (
    request,
  ) => {
    if (request.response !== undefined) return;
    const { problem: body, headers } = toProblem(request.error, retryAfterS);
    const error = request.error;
    // A 5xx a route chose (no secret set, no event bus) is an answer, not an unhandled error.
    if (body.status >= 500 && logger && !(error instanceof HttpError && error.expose)) {
      logger(`Unhandled error: ${error instanceof Error ? error.message : String(error)}`);
    }
    request.response = {
      statusCode: body.status,
      headers: { 'content-type': 'application/problem+json', ...headers },
      body: JSON.stringify(body),
    };
  };

  return { onError: problemDetailsOnError };
}

const TITLES: Record<number, string> = {
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  422: 'Unprocessable Content',
  503: 'Service Unavailable',
};

/** A Problem Details body; `about:blank` (RFC 9457) says the status and its title are the whole meaning. */
export function problem(status: number, title: string, detail: string, issues?: ErrorIssue[]): Problem {
  return {
    type: 'about:blank',
    title,
    status,
    detail,
    ...(issues && issues.length > 0 ? { errors: issues } : {}),
  };
}

/** The detail of every 500: what went wrong is logged, not shown. */
export const UNEXPECTED_ERROR = 'An unexpected error occurred';

function toProblem(
  error: unknown,
  retryAfterS: number,
): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof HttpError) {
    const detail = error.expose ? error.message : UNEXPECTED_ERROR;
    return { problem: problem(error.statusCode, error.title, detail, error.issues), headers: error.headers };
  }
  if (error instanceof ValidationError) {
    const issues = error.issues.length > 0 ? error.issues : undefined;
    return { problem: problem(422, TITLES[422]!, error.message, issues), headers: {} };
  }
  if (error instanceof NotFoundError)
    return { problem: problem(404, TITLES[404]!, error.message), headers: {} };
  if (error instanceof ConflictError)
    return { problem: problem(409, TITLES[409]!, error.message), headers: {} };
  if (error instanceof ForbiddenError)
    return { problem: problem(403, TITLES[403]!, error.message), headers: {} };
  if (error instanceof ThrottledError) {
    return {
      problem: problem(503, TITLES[503]!, 'The service is busy; try again shortly'),
      headers: { 'retry-after': String(retryAfterS) },
    };
  }
  return { problem: problem(500, 'Internal Server Error', UNEXPECTED_ERROR), headers: {} };
}
