/**
 * A small router: method and path pattern (`/v1/executions/{id}`) to a function. No framework.
 * Every path parameter is checked against the rule of its collection (path-params.ts) before the
 * route runs.
 */
import { HttpError, notFound } from './http-error.js';
import type { OperationDoc } from './operation.js';
import { type PathParamRule, pathParamProblem, pathParamRule } from './path-params.js';
import type { ApiRequest } from './request.js';
import type { ApiResult } from './response.js';

export type Route = (request: ApiRequest) => Promise<ApiResult>;

interface Entry {
  method: string;
  pattern: string;
  segments: string[];
  /** The rule of each parameter, by name. */
  rules: Record<string, PathParamRule>;
  route: Route;
  doc: OperationDoc | undefined;
}

export interface Match {
  route: Route;
  params: Record<string, string>;
  doc: OperationDoc | undefined;
}

/** A registered route, for the OpenAPI document and its tests. */
export interface RouteInfo {
  method: string;
  pattern: string;
  doc: OperationDoc | undefined;
}

export class Router {
  readonly #entries: Entry[] = [];

  /**
   * Adds a route. `doc` describes it in the OpenAPI document (and declares its query parameters,
   * which the API then checks before the route runs); the OpenAPI test fails for a route without one.
   */
  on(method: string, pattern: string, route: Route, doc?: OperationDoc): this {
    const segments = split(pattern);
    const rules: Record<string, PathParamRule> = {};
    segments.forEach((segment, i) => {
      if (isParam(segment)) rules[segment.slice(1, -1)] = pathParamRule(segments[i - 1]);
    });
    this.#entries.push({ method: method.toUpperCase(), pattern, segments, rules, route, doc });
    return this;
  }

  /**
   * The route for the request; 404 for an unknown path or a parameter that breaks its rule, 405
   * (with Allow) for a known path and another method. HEAD is answered by the path's GET (RFC 9110
   * §9.3.2: the same status and headers). The body it gives is left for the HTTP layer to drop
   * (node:http and API Gateway send none for HEAD), so Content-Length stays what GET would send.
   */
  match(method: string, path: string): Match {
    const parts = split(path);
    const found = this.#entries.flatMap((entry) => {
      const params = matchSegments(entry.segments, parts);
      return params ? [{ entry, params }] : [];
    });
    const answering =
      method === 'HEAD' && !found.some(({ entry }) => entry.method === 'HEAD') ? 'GET' : method;
    const allowed: string[] = [];
    let refused: string | undefined;
    for (const { entry, params } of found) {
      if (entry.method !== answering) {
        allowed.push(entry.method);
        continue;
      }
      const problem = Object.entries(params)
        .map(([name, value]) => pathParamProblem(entry.rules[name]!, value))
        .find((p) => p !== undefined);
      if (problem === undefined) return { route: entry.route, params, doc: entry.doc };
      refused ??= problem;
    }
    if (refused !== undefined) throw notFound(refused);
    const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
    if (allowed.length === 0) throw notFound(`No route for ${shown}`);
    const allow = withHead(allowed).join(', ');
    throw new HttpError(405, 'Method Not Allowed', `${method} is not allowed on ${shown}; use ${allow}`, {
      headers: { allow },
    });
  }

  /** Every route, as registered (for the OpenAPI document and its test). */
  routes(): RouteInfo[] {
    return this.#entries.map(({ method, pattern, doc }) => ({ method, pattern, doc }));
  }

  /** The methods a path answers, HEAD beside GET (for CORS preflights); none for an unknown path. */
  methods(path: string): string[] {
    const parts = split(path);
    return withHead(this.#entries.filter((e) => matchSegments(e.segments, parts)).map((e) => e.method));
  }
}

/** The distinct methods, with HEAD after GET: every GET route answers HEAD too. */
function withHead(methods: string[]): string[] {
  const distinct = [...new Set(methods)];
  const get = distinct.indexOf('GET');
  if (get >= 0 && !distinct.includes('HEAD')) distinct.splice(get + 1, 0, 'HEAD');
  return distinct;
}

function isParam(segment: string): boolean {
  return segment.startsWith('{') && segment.endsWith('}');
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
    if (isParam(want)) {
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
