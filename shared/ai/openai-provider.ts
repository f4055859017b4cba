/**
 * The OpenAI provider (CONTRACT §7): the official `openai` client, Chat Completions with
 * `response_format: {type: 'json_schema', json_schema: {name, schema, strict}}`, which every
 * OpenAI-compatible server (Azure OpenAI, vLLM, Ollama, LiteLLM) understands.
 *
 * The client's own retries are off and its timeout is the call's budget: the engine retries with its
 * timers. Failures become typed StepErrors: 429 `AiThrottled` (with `retry_after_s`), 5xx and network
 * `AiUnavailable`, a timeout or abort `AiTimeout` (all retryable); a refusal `AiRefused`, a truncated
 * answer `AiIncomplete`, a rejected request `AiRequestRejected`, an answer over MAX_AI_RESPONSE_BYTES
 * `AiResponseTooLarge` (not retryable). Invalid JSON and
 * schema violations are not errors here: the caller validates the answer and gives the model feedback.
 */
import type OpenAI from 'openai';
import { StepError } from '../errors.js';
import { parseJsonText } from '../json-schema/index.js';
import type { AiProvider, AiRequest, AiResponse } from '../ports/index.js';
import { reportedModel } from './policy.js';
import { toStrictSchema } from './strict-schema.js';

export const OPENAI_DEFAULT_MODEL = 'gpt-4o-mini';

export interface OpenAiProviderOptions {
  apiKey: string;
  /** An OpenAI-compatible server; default the OpenAI API. */
  baseUrl?: string;
  /** The model when the step names none. */
  model: string;
  /** The clock `retry-after` dates are read against (tests). */
  now?: () => Date;
  /** The most of an answer that is read (default MAX_AI_RESPONSE_BYTES; tests). */
  maxResponseBytes?: number;
}

/** The `json_schema.name` sent with every request (`^[a-zA-Z0-9_-]{1,64}$`). */
const SCHEMA_NAME = 'answer';

/** `retry-after-ms`, or `retry-after` in seconds or as an HTTP date (RFC 9110 §10.2.3), in seconds. */
export function retryAfterSeconds(headers: Headers | undefined, now: Date): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms) / 1000);
  const value = headers?.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

/**
 * The most of a provider's answer that is read: the longest answers models give (100,000 output
 * tokens) are well under a megabyte of JSON. A server that answered 200 MB, or without end, took
 * 2.3 GB and blocked the local server for 10 s before the call failed; a Lambda would run out of memory.
 */
export const MAX_AI_RESPONSE_BYTES = 8 * 1024 * 1024;

function answerTooLarge(limit: number): StepError {
  return new StepError('AiResponseTooLarge', `The model provider's answer is larger than ${limit} bytes`, {
    retryable: false,
    details: { max_response_bytes: limit },
  });
}

/**
 * `fetch` that reads at most `limit` bytes of a body: one that declares more is refused before it is
 * read, one that sends more is cut off there (AiResponseTooLarge, which the client hands on as the
 * cause of its error).
 */
function boundedFetch(limit: number, inner: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    // An error status is the client's to read and name (a 429 stays AiThrottled), within the bound.
    if (response.ok && Number(response.headers.get('content-length')) > limit) {
      await response.body?.cancel().catch(() => undefined);
      throw answerTooLarge(limit);
    }
    if (response.body === null) return response;
    let read = 0;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          read += chunk.byteLength;
          if (read > limit) controller.error(answerTooLarge(limit));
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/** The `openai` package: loaded with the first call (the functions that call no model leave it out). */
type OpenAiSdk = typeof import('openai');

function mapError(error: unknown, request: AiRequest, now: Date, sdk: OpenAiSdk): StepError {
  const { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } = sdk;
  if (error instanceof StepError) return error;
  // Ours, raised inside the client's fetch (boundedFetch) and handed on as its error's cause.
  const cause = (error as { cause?: unknown } | null)?.cause;
  if (cause instanceof StepError) return cause;
  // The body cut off by the call's deadline (or the step's abort) while it was read: a DOMException.
  const name = (error as { name?: unknown } | null)?.name;
  if (
    error instanceof APIConnectionTimeoutError ||
    error instanceof APIUserAbortError ||
    name === 'AbortError' ||
    name === 'TimeoutError'
  ) {
    return new StepError('AiTimeout', `The model did not answer within ${request.timeoutMs} ms`, {
      retryable: true,
    });
  }
  if (error instanceof APIConnectionError) {
    return new StepError('AiUnavailable', `The model could not be reached: ${error.message}`, {
      retryable: true,
    });
  }
  if (error instanceof APIError) {
    const status = error.status ?? 0;
    const details: Record<string, unknown> = { status };
    if (error.requestID) details.request_id = error.requestID;
    if (status === 429 && error.code === 'insufficient_quota') {
      return new StepError('AiQuotaExceeded', 'The model provider refused: the quota is used up', {
        retryable: false,
        details,
      });
    }
    if (status === 429) {
      const retryAfter = retryAfterSeconds(error.headers, now);
      if (retryAfter !== undefined) details.retry_after_s = retryAfter;
      return new StepError('AiThrottled', 'The model provider throttled the request (429)', {
        retryable: true,
        details,
      });
    }
    if (status === 408) {
      return new StepError('AiTimeout', 'The model provider timed out (408)', { retryable: true, details });
    }
    if (status === 409 || status >= 500) {
      return new StepError('AiUnavailable', `The model provider is unavailable (${status})`, {
        retryable: true,
        details,
      });
    }
    if (status === 401 || status === 403) {
      return new StepError('AiUnauthorized', `The model provider refused the credentials (${status})`, {
        retryable: false,
        details,
      });
    }
    // The provider's own words often quote the prompt back (and may be megabytes): only its short
    // identifiers are kept, as ai.md promises.
    for (const key of ['code', 'type', 'param'] as const) {
      const value = error[key];
      if (typeof value === 'string' && value.length <= 100) details[key] = value;
    }
    const code = typeof details.code === 'string' ? `, ${details.code}` : '';
    return new StepError('AiRequestRejected', `The model provider rejected the request (${status}${code})`, {
      retryable: false,
      details,
    });
  }
  const message = (error as Error)?.message ?? String(error);
  return new StepError(
    'AiUnavailable',
    `The model call failed: ${message.length > 200 ? `${message.slice(0, 200)}…` : message}`,
    {
      retryable: true,
    },
  );
}

export function createOpenAiProvider(options: OpenAiProviderOptions): AiProvider {
  // Loaded with the first call: only the Lambda functions that call a model bundle the package
  // (externalModulesOf in infra/constructs/bundling.ts).
  let loaded: Promise<{ sdk: OpenAiSdk; client: OpenAI }> | undefined;
  const load = () =>
    (loaded ??= import('openai').then((sdk) => ({
      sdk,
      client: new sdk.default({
        apiKey: options.apiKey,
        ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
        maxRetries: 0,
        fetch: boundedFetch(options.maxResponseBytes ?? MAX_AI_RESPONSE_BYTES),
      }),
    })));
  const now = options.now ?? (() => new Date());

  return {
    name: 'openai',
    async generate(request: AiRequest): Promise<AiResponse> {
      if (request.signal?.aborted || request.timeoutMs <= 0) {
        throw new StepError('AiTimeout', 'The time for the model call ran out before it started', {
          retryable: true,
        });
      }
      const plan = toStrictSchema(request.json_schema);
      const model = request.model ?? options.model;
      let completion: OpenAI.Chat.Completions.ChatCompletion;
      let requestId: string | null = null;
      const { sdk, client } = await load();
      const timeout = Math.max(1, Math.round(request.timeoutMs));
      const deadline = AbortSignal.timeout(timeout);
      try {
        const { data, request_id } = await client.chat.completions
          .create(
            {
              model,
              messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
              response_format: {
                type: 'json_schema',
                json_schema: { name: SCHEMA_NAME, schema: plan.schema, strict: plan.strict },
              },
              ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
            },
            {
              maxRetries: 0,
              timeout,
              // The client's own timeout ends when the headers come: this one also bounds the body,
              // which a server that stalls half-way through sent for ever (the step never ended).
              signal: request.signal ? AbortSignal.any([request.signal, deadline]) : deadline,
            },
          )
          .withResponse();
        completion = data;
        requestId = request_id;
      } catch (error) {
        throw mapError(error, request, now(), sdk);
      }
      const details = requestId ? { request_id: requestId } : undefined;
      const choice = completion.choices?.[0];
      if (!choice) {
        throw new StepError('AiUnavailable', 'The model provider answered without a choice', {
          retryable: true,
          ...(details ? { details } : {}),
        });
      }
      if (choice.message?.refusal || choice.finish_reason === 'content_filter') {
        // The refusal text is the model's words about the prompt: not kept, like the prompt itself.
        throw new StepError('AiRefused', 'The model refused to answer', {
          retryable: false,
          details: { ...details, finish_reason: choice.finish_reason },
        });
      }
      if (choice.finish_reason === 'length') {
        throw new StepError('AiIncomplete', 'The answer was cut off at the output token limit', {
          retryable: false,
          details: { ...details, tokens_output: completion.usage?.completion_tokens ?? null },
        });
      }
      const raw = choice.message?.content ?? '';
      const parsed = parseJsonText(raw);
      const text = parsed.ok ? JSON.stringify(plan.restore(parsed.value)) : raw;
      return {
        text,
        ...(text !== raw ? { raw_text: raw } : {}),
        model: reportedModel(completion.model, model),
        tokens_prompt: completion.usage?.prompt_tokens ?? 0,
        tokens_output: completion.usage?.completion_tokens ?? 0,
        ...(requestId ? { request_id: requestId } : {}),
      };
    },
  };
}
