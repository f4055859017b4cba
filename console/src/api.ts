/**
 * The console's only way to the engine: the public HTTP API. The API's URL comes from `config.json`
 * beside the console (empty: the same origin, as `npm start` serves both); the API key, when the
 * server wants one, lives in this tab's session storage only and is never written anywhere else.
 */

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  errors?: Array<{ path: string; message: string }>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title);
    this.status = problem.status;
    this.problem = problem;
  }
}

const KEY_STORAGE = 'flowrunner.api_key';
let base = '';
const keyListeners = new Set<() => void>();

export async function loadConfig(): Promise<void> {
  try {
    const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-store' });
    if (response.ok) {
      const config = (await response.json()) as { api_url?: unknown };
      if (typeof config.api_url === 'string') base = config.api_url.replace(/\/+$/, '');
    }
  } catch {
    // No config: the API is on this origin.
  }
}

export function apiUrl(): string {
  return base || window.location.origin;
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
  for (const listener of keyListeners) listener();
}

/** Told when the key changes, so views load again with it. */
export function onKeyChange(listener: () => void): () => void {
  keyListeners.add(listener);
  return () => keyListeners.delete(listener);
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Personal links answer without the key: the token is the credential. */
  anonymous?: boolean;
}

export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
  const key = options.anonymous ? null : apiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      credentials: 'omit',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({
      title: 'API unreachable',
      status: 0,
      detail: `Cannot reach the API at ${apiUrl()}. Is the server running?`,
    });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const problem = (body && typeof body === 'object' ? body : {}) as Partial<Problem>;
    throw new ApiError({
      ...problem,
      title: problem.title ?? response.statusText,
      status: response.status,
    } as Problem);
  }
  return body as T;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface RunSummary {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: string;
  created_at: string;
  updated_at: string;
  trigger?: { listener_id?: string; type?: string };
}

export interface Waiting {
  step_id: string;
  type: string;
  visit: number;
  fields?: Array<Record<string, unknown>>;
  approvers?: string[];
  message?: string;
  title?: string;
  expires_at?: string;
  callback_token?: string;
}

export interface Run extends RunSummary {
  waiting: Waiting[];
  output?: unknown;
  error?: { code: string; message: string; step_id?: string };
  compensated?: boolean;
  started_at?: string;
  ended_at?: string;
  usage?: { tokens_prompt: number; tokens_output: number; cost_usd: number | null; ai_calls: number };
  rerun_of?: string;
}

export interface RunEvent {
  seq: number;
  type: string;
  at: string;
  step_id?: string;
  data: Record<string, unknown>;
}

export interface WorkflowVersion {
  id: string;
  version: number;
  created_at: string;
  definition: {
    id: string;
    name?: string;
    description?: string;
    inputs?: unknown;
    steps: Array<{
      id: string;
      type: string;
      name?: string;
      next?: unknown;
      on_error?: string;
      config?: unknown;
    }>;
  } & Record<string, unknown>;
}

/** Which operations this API offers (redrive and rerun come with "Operating runs"). */
let operations: Promise<Set<string>> | undefined;
export function offeredOperations(): Promise<Set<string>> {
  operations ??= api<{ paths?: Record<string, Record<string, unknown>> }>('GET', '/openapi.json', {
    anonymous: true,
  })
    .then((doc) => {
      const offered = new Set<string>();
      for (const [path, methods] of Object.entries(doc.paths ?? {})) {
        for (const method of Object.keys(methods)) offered.add(`${method.toUpperCase()} ${path}`);
      }
      return offered;
    })
    .catch(() => new Set<string>());
  return operations;
}
