/**
 * The local server's defence against web pages (CONTRACT §5). A page on any site can make the
 * browser send a request to 127.0.0.1 (it cannot read the answer, but a write is done by then), and
 * DNS rebinding lets a page on its own name reach the server as if it were that name. So: only a
 * `Host` that is one of the server's own names with its port is answered, and a request whose
 * `Origin` is neither the server's own nor one CORS allows is refused with 403, before anything runs.
 */
import type middy from '@middy/core';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpError } from '../http-error.js';
import type { ApiEvent } from '../request.js';

export interface OriginGuardOptions {
  /**
   * The `Host` values answered (`127.0.0.1:3000`, `localhost:3000`, …), in lower case. Read per
   * request: a server on port 0 knows its port only once it listens.
   */
  hosts: () => readonly string[];
  /** Origins besides the server's own that may call it (the CORS allow-list). */
  origins?: readonly string[];
}

/** At most this much of a refused value is repeated in the answer. */
const SHOWN = 100;

export function originGuard(
  options: OriginGuardOptions,
): middy.MiddlewareObj<ApiEvent, APIGatewayProxyStructuredResultV2> {
  const trusted = new Set((options.origins ?? []).map((origin) => origin.toLowerCase()));

  const originGuardBefore: middy.MiddlewareFn<ApiEvent, APIGatewayProxyStructuredResultV2> = async (
    request,
  ) => {
    const hosts = options.hosts();
    const host = request.event.headers.host?.trim().toLowerCase();
    if (host === undefined || !hosts.includes(host)) {
      throw forbidden(
        `This server answers only requests for ${hosts.join(', ')}; the Host header ${
          host === undefined ? 'is missing' : `is ${shown(host)}`
        }`,
      );
    }
    const origin = request.event.headers.origin?.trim().toLowerCase();
    if (origin === undefined) return; // not sent by a browser on another site: curl, the CLI, a same-origin GET
    if (trusted.has(origin) || hosts.some((own) => origin === `http://${own}`)) return;
    throw forbidden(
      `Requests from other origins are refused: ${shown(origin)} is neither this server's origin (http://${host}) nor one CORS allows`,
    );
  };

  return { before: originGuardBefore };
}

function shown(value: string): string {
  return JSON.stringify(value.length > SHOWN ? `${value.slice(0, SHOWN)}…` : value);
}

function forbidden(message: string): HttpError {
  return new HttpError(403, 'Forbidden', message);
}
