/** The HTTP API as the end-to-end tests call it: JSON or YAML bodies, parsed answers, and a waiter for a run. */
import { pollUntil } from './poll.js';

export type RunBody = Record<string, unknown> & { waiting: Array<Record<string, unknown>> };

export interface ApiAnswer {
  status: number;
  body: RunBody;
}

/**
 * A client of the server at `url()` (read per call: the server starts in `beforeAll`). A string body
 * is sent as YAML, anything else as JSON; `headersFor` adds headers per path (an API key, say).
 */
export function apiClient(
  url: () => string,
  headersFor: (path: string) => Record<string, string> = () => ({}),
) {
  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await fetch(`${url()}${path}`, {
      method,
      headers: {
        ...headersFor(path),
        ...(body === undefined
          ? {}
          : { 'content-type': typeof body === 'string' ? 'text/yaml' : 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as RunBody };
  }

  /** Reads the run until `done` holds (the engine works in the background). */
  function until(id: string, done: (run: RunBody) => boolean): Promise<RunBody> {
    return pollUntil(
      async () => (await call('GET', `/v1/executions/${id}`)).body,
      done,
      (run) => `run ${id}: ${JSON.stringify(run)}`,
      { timeoutMs: 20_000, intervalMs: 50 },
    );
  }

  return { call, until };
}
