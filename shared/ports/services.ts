/** The services steps reach the world through: time, ids, secrets, HTTP, AI models, child runs and prompt templates. */

export interface Clock {
  now(): Date;
}

export interface Ids {
  /** A new, unique, URL-safe identifier with a readable prefix, e.g. `run_…`. */
  next(prefix: string): string;
}

/** Supplies `{{ secrets.NAME }}`: the raw secret string (JSON secrets are parsed by the caller). */
export interface SecretSource {
  /** Throws a ConfigurationError (code `SecretNotFound`) for a missing secret. */
  get(name: string): Promise<string>;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** The whole exchange, redirects included, must end within this time. */
  timeoutMs: number;
  /** A larger response body fails the request (code `HttpResponseTooLarge`). */
  maxResponseBytes: number;
  /** Allow loopback, private and link-local targets (CONTRACT §5), checked on every resolved address. */
  allowPrivateNetwork: boolean;
  /** Allow loopback targets even without `allowPrivateNetwork` (the local default). */
  allowLoopback?: boolean;
  maxRedirects?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** The body as text; the caller parses JSON when the content type says so. */
  body: string;
  /** The final URL after redirects. */
  url: string;
}

/**
 * Makes HTTP requests. Network failures, timeouts and refused targets are thrown as StepErrors with
 * codes `HttpNetworkError` (retryable), `HttpTimeout` (retryable), `HttpTargetForbidden` (not retryable).
 */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpResponse>;
}

export interface AiMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface AiRequest {
  model?: string;
  messages: AiMessage[];
  json_schema: Record<string, unknown>;
  temperature?: number;
  timeoutMs: number;
  signal?: AbortSignal;
  /** The `ai_generate` step asking, if any (the mock's `MOCK_AI_ANSWERS` may answer by step id). */
  step_id?: string;
}

export interface AiResponse {
  /**
   * The answer the caller parses and validates against its own schema: what the model said, already
   * brought back to that schema's shape when the provider sent a transformed one (shared/ai/strict-schema.ts).
   */
  text: string;
  /** What the model said word for word, when it differs from `text`; the conversation continues with it. */
  raw_text?: string;
  model: string;
  tokens_prompt: number;
  tokens_output: number;
  /** The provider's request id, when it gives one (for support; never the prompt). */
  request_id?: string;
  /** The provider's own measure of the call, when it reports one (Bedrock's `metrics.latencyMs`). */
  provider_latency_ms?: number;
}

/**
 * One call to a model. Timeouts and throttles are thrown as retryable StepErrors
 * (`AiTimeout`, `AiThrottled`, `AiUnavailable`); other failures are not retryable.
 */
export interface AiProvider {
  readonly name: string;
  generate(request: AiRequest): Promise<AiResponse>;
}

/** One version of a prompt template (CONTRACT §7): written once, never changed. */
export interface PromptTemplate {
  id: string;
  version: number;
  /** The prompt, with `{{ }}` placeholders over the step's `variables`. */
  text: string;
  system?: string;
  /** The model when the step names none. */
  model?: string;
  description?: string;
  /** When this version was stored; never earlier than the version before it. */
  created_at: string;
}

/** Named prompt templates for `ai_generate` with `template_id`. */
export interface PromptTemplateSource {
  /** The given version, or the latest; NotFoundError. */
  get(id: string, version?: number): Promise<PromptTemplate>;
  /**
   * The version a run that started at `startedAt` (ISO-8601) uses: the latest stored at or before
   * then, else version 1 (the template is newer than the run). Versions are never changed and
   * `created_at` never goes back, so every call for one run answers the same version: the run is
   * pinned to it whatever is added meanwhile. NotFoundError for an unknown id.
   */
  pinned(id: string, startedAt: string): Promise<PromptTemplate>;
}

export interface StartChildRequest {
  parent_run_id: string;
  parent_step_id: string;
  visit: number;
  /** The attempt of the visit that starts the child (default 1): each attempt starts a child of its own. */
  attempt?: number;
  /** How deep the child is among child runs: the parent's depth + 1 (at most MAX_CHILD_DEPTH). */
  depth: number;
  /** The run at the top of the parent's tree of child runs (the parent itself when it has none above it). */
  root_run_id: string;
  workflow_id: string;
  version?: number;
  inputs: unknown;
  /** The same key and attempt always yield the same child run: a repeated start creates nothing new. */
  idempotency_key: string;
}

/** Starts and cancels child runs for `workflow` steps; a child's end reaches the parent as a signal. */
export interface ChildRuns {
  start(request: StartChildRequest): Promise<{ run_id: string }>;
  cancel(runId: string): Promise<void>;
}
