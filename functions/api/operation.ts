/**
 * What a route tells the OpenAPI document about itself, declared beside the route with the zod
 * schemas the route checks its input with and answers with. The document (openapi.ts) adds what the
 * API's framing decides for every operation alike: the body parser's 400/413/415, the API key's
 * 401, the path parameters' 404, the unknown query parameter's 422, a busy store's 503.
 */
import type { z } from 'zod';

/** The groups of the reference, in the order they are shown. */
export const TAGS = {
  Workflows: 'Register workflows, read their versions, retire and revive them, and check them without saving',
  Executions: 'Start runs, follow them, answer their waits, and hold, release or cancel them',
  Artifacts: 'Files a run wrote',
  Callbacks: 'Single-use links that answer one wait without an API key',
  Listeners: 'Triggers that start a workflow when something happens',
  AI: 'One model call, checked against a JSON Schema',
  Templates: 'Versioned prompt templates that `ai_generate` steps name with `template_id`',
  System: 'Liveness and this description of the API',
} as const;
export type Tag = keyof typeof TAGS;

/** One answer of an operation. */
export interface Reply {
  description: string;
  /** The JSON body; absent for an empty answer (204) or a body of another type. */
  schema?: z.ZodType;
  /** The body's media type (default `application/json`); without a `schema`, any body of that type. */
  mediaType?: string;
  /** The same answer in other text media types, chosen by `Accept`: media type → an example body. */
  alternatives?: Record<string, string>;
  /** One realistic body, valid against `schema` (the lint and the conformance test check it). */
  example?: unknown;
}

/** The statuses a route decides itself (its refusals), each with when it happens. */
export type Refusals = Partial<Record<400 | 401 | 403 | 404 | 409 | 413 | 422 | 502 | 503, string>>;

export interface OperationDoc {
  /** Unique, camelCase, a verb first: `listRuns`. */
  operationId: string;
  tag: Tag;
  summary: string;
  description?: string;
  /**
   * The query parameters. Every operation refuses one it does not know (422, CONTRACT §9), so a
   * documented route without a query takes none.
   */
  query?: z.ZodObject;
  /** The request body: JSON checked by `schema`, or a workflow (JSON or YAML). */
  body?: { schema: z.ZodType | 'workflow'; example: unknown; description?: string };
  /** Takes the `Idempotency-Key` header. */
  idempotencyKey?: boolean;
  /** The answers that are not refusals (2xx), by status. */
  replies: Record<number, Reply>;
  refusals?: Refusals;
}
