/** A small router: method and path pattern (`/v1/executions/{id}`) to a function. No framework. */
import { HttpError, notFound } from './http-error.js';
import type { ApiRequest } from './request.js';
import type { ApiResult } from './response.js';

export type Route = (request: ApiRequest) => Promise<ApiResult>;

interface Entry {
  method: string;
  pattern: string;
  segments: string[];
  route: Route;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
}

export class Router {
  readonly #entries: Entry[] = [];

  on(method: string, pattern: string, route: Route): this {
    this.#entries.push({ method: method.toUpperCase(), pattern, segments: split(pattern), route });
    return this;
  }

  /** The route for the request; 404 for an unknown path, 405 (with Allow) for a known path and another method. */
  match(method: string, path: string): Match {
    const parts = split(path);
    const allowed: string[] = [];
    for (const entry of this.#entries) {
      const params = matchSegments(entry.segments, parts);
      if (!params) continue;
      if (entry.method === method) return { route: entry.route, params };
      allowed.push(entry.method);
    }
    if (allowed.length === 0) throw notFound(`No route for ${path}`);
    const allow = [...new Set(allowed)].join(', ');
    throw new HttpError(405, 'Method Not Allowed', `${method} is not allowed on ${path}; use ${allow}`, {
      headers: { allow },
    });
  }

  /** Every route, as registered (for the OpenAPI document and its test). */
  routes(): Array<{ method: string; pattern: string }> {
    return this.#entries.map(({ method, pattern }) => ({ method, pattern }));
  }

  /** The methods a path answers (for CORS preflights). */
  methods(path: string): string[] {
    const parts = split(path);
    return [...new Set(this.#entries.filter((e) => matchSegments(e.segments, parts)).map((e) => e.method))];
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matchSegments(pattern: string[], parts: string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const want = pattern[i]!;
    const got = parts[i]!;
    if (want.startsWith('{') && want.endsWith('}')) {
      let value: string;
      try {
        value = decodeURIComponent(got);
      } catch {
        return undefined;
      }
      params[want.slice(1, -1)] = value;
    } else if (want !== got) {
      return undefined;
    }
  }
  return params;
}
