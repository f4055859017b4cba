/** Errors of the HTTP layer itself (bad framing, unknown routes, auth), carrying their status as middy errors do. */
import type { ErrorIssue } from '../../shared/errors.js';

export class HttpError extends Error {
  readonly statusCode: number;
  /**
   * Whether the caller sees the message. A 500 is what nobody decided: its message never leaves the
   * server. Any other status, 502 and 503 included, is an answer a route chose, and says why.
   */
  readonly expose: boolean;
  readonly title: string;
  readonly issues: ErrorIssue[] | undefined;
  readonly headers: Record<string, string>;

  constructor(
    statusCode: number,
    title: string,
    message: string,
    options: { issues?: ErrorIssue[]; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.expose = statusCode !== 500;
    this.title = title;
    this.issues = options.issues;
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (message: string, issues?: ErrorIssue[]) =>
  new HttpError(400, 'Bad Request', message, issues ? { issues } : {});
export const notFound = (message: string) => new HttpError(404, 'Not Found', message);
export const conflict = (message: string) => new HttpError(409, 'Conflict', message);
export const unsupportedMediaType = (message: string) =>
  new HttpError(415, 'Unsupported Media Type', message);
export const unprocessable = (message: string, issues: ErrorIssue[]) =>
  new HttpError(422, 'Unprocessable Content', message, { issues });
