/**
 * The Bedrock provider (CONTRACT §7): the Converse API of `@aws-sdk/client-bedrock-runtime` with the
 * process's AWS credentials (the Lambda's role in the cloud), `BEDROCK_MODEL` as the default model.
 *
 * How the answer is held to the step's schema:
 * - a schema strict mode can take (shared/ai/strict-schema.ts) goes as native structured output,
 *   `outputConfig.textFormat` `json_schema`: the model's text is then JSON of that schema;
 * - any other schema, and every schema for a model that refuses native structured output (Bedrock
 *   answers ValidationException: only some models have it), goes as one forced tool (`toolChoice:
 *   {tool: {name}}`) whose input schema is the step's: the tool's input is the answer. A model that
 *   refused native output once is asked with the tool from then on, for the life of the provider.
 *
 * The SDK's own retries are off (`maxAttempts: 1`) and each call is aborted at its budget: the engine
 * retries with its timers. Failures become the same typed StepErrors as OpenAI's: ThrottlingException,
 * ServiceQuotaExceededException and ModelNotReadyException `AiThrottled`; ServiceUnavailable, 5xx,
 * ModelErrorException and network failures `AiUnavailable`; ModelTimeoutException and the call's own
 * time running out `AiTimeout` (all retryable); a guardrail or content filter `AiRefused`, a
 * `max_tokens` stop `AiIncomplete`, AccessDenied `AiUnauthorized`, any other 4xx `AiRequestRejected`.
 */
import type {
  BedrockRuntimeClient,
  BedrockRuntimeClientConfig,
  ContentBlock,
  ConverseCommandInput,
  ConverseCommandOutput,
  Message,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { StepError } from '../errors.js';
import { parseJsonText } from '../json-schema/index.js';
import type { AiProvider, AiRequest, AiResponse } from '../ports/index.js';
import { type StrictSchemaPlan, toStrictSchema } from './strict-schema.js';

export interface BedrockProviderOptions {
  /** The model (a model id, an inference profile id, or either's ARN) when the step names none. */
  model: string;
  /** Default: the SDK's (AWS_REGION). */
  region?: string;
  /** Another endpoint than the region's (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`: a proxy, a stand-in). */
  endpoint?: string;
  /** The SDK client's settings beyond these (tests: static credentials). Retries are always off. */
  client?: Omit<BedrockRuntimeClientConfig, 'maxAttempts' | 'region'>;
}

/** The name of the forced tool and of the native json_schema (`^[a-zA-Z0-9_-]{1,64}$`). */
export const ANSWER_TOOL = 'answer';

type Exception = Error & { name: string; $metadata?: { httpStatusCode?: number; requestId?: string } };

function isException(error: unknown): error is Exception {
  return error instanceof Error && typeof (error as { name?: unknown }).name === 'string';
}

function mapError(error: unknown, request: AiRequest, timedOut: boolean): StepError {
  if (error instanceof StepError) return error;
  if (!isException(error)) {
    return new StepError('AiUnavailable', `The model call failed: ${String(error)}`, { retryable: true });
  }
  // Aborted by the call's budget or the step's signal (the SDK names it AbortError).
  if (timedOut || error.name === 'AbortError' || error.name === 'TimeoutError') {
    return new StepError('AiTimeout', `The model did not answer within ${request.timeoutMs} ms`, {
      retryable: true,
    });
  }
  const status = error.$metadata?.httpStatusCode;
  const details: Record<string, unknown> = { exception: error.name };
  if (status !== undefined) details.status = status;
  if (error.$metadata?.requestId) details.request_id = error.$metadata.requestId;
  switch (error.name) {
    case 'ThrottlingException':
    case 'ServiceQuotaExceededException':
    case 'ModelNotReadyException':
      return new StepError('AiThrottled', `Bedrock throttled the request (${error.name})`, {
        retryable: true,
        details,
      });
    case 'ModelTimeoutException':
      return new StepError('AiTimeout', 'The model took too long to answer (ModelTimeoutException)', {
        retryable: true,
        details,
      });
    case 'AccessDeniedException':
    case 'UnrecognizedClientException':
    case 'ExpiredTokenException':
      return new StepError('AiUnauthorized', `Bedrock refused the credentials (${error.name})`, {
        retryable: false,
        details,
      });
  }
  if (status === undefined || status >= 500 || error.name === 'ModelErrorException') {
    // No status: the request never got an answer (refused connection, reset, DNS).
    return new StepError(
      'AiUnavailable',
      status === undefined
        ? `Bedrock could not be reached: ${error.message}`
        : `Bedrock is unavailable (${error.name}, ${status})`,
      { retryable: true, details },
    );
  }
  // The message of a 4xx names what was wrong with the request (a schema keyword, the model id), not the prompt.
  return new StepError(
    'AiRequestRejected',
    `Bedrock rejected the request (${error.name}): ${error.message}`,
    {
      retryable: false,
      details,
    },
  );
}

/** Converse takes the system text apart and the conversation as alternating user/assistant turns. */
function conversation(request: AiRequest): Pick<ConverseCommandInput, 'messages' | 'system'> {
  const system = request.messages.filter((m) => m.role === 'system').map((m) => ({ text: m.content }));
  const messages: Message[] = request.messages
    .filter((m) => m.role !== 'system')
    .map((m) => ({ role: m.role as 'user' | 'assistant', content: [{ text: m.content }] }));
  return { messages, ...(system.length > 0 ? { system } : {}) };
}

/** How the answer's shape is asked for: natively, or as the input of one forced tool. */
function shapeOf(plan: StrictSchemaPlan, native: boolean): Partial<ConverseCommandInput> {
  if (native) {
    return {
      outputConfig: {
        textFormat: {
          type: 'json_schema',
          structure: { jsonSchema: { name: ANSWER_TOOL, schema: JSON.stringify(plan.schema) } },
        },
      },
    };
  }
  return {
    toolConfig: {
      tools: [
        {
          toolSpec: {
            name: ANSWER_TOOL,
            description: 'Give your answer as the input of this tool.',
            // A tool's input is an object: a non-object root is wrapped in {value} by the plan.
            inputSchema: { json: plan.schema as never },
          },
        },
      ],
      toolChoice: { tool: { name: ANSWER_TOOL } },
    },
  };
}

/** The answer's text: the forced tool's input as JSON, else the text blocks. */
function answerText(content: ContentBlock[] | undefined): string {
  const blocks = content ?? [];
  const tool = blocks.find((b) => b.toolUse?.name === ANSWER_TOOL)?.toolUse;
  if (tool) return JSON.stringify(tool.input ?? null);
  return blocks.map((b) => b.text ?? '').join('');
}

export function createBedrockProvider(options: BedrockProviderOptions): AiProvider {
  // Loaded with the first call: only the Lambda functions that call a model bundle the client
  // (externalModulesOf in infra/constructs/bundling.ts).
  let loaded:
    | Promise<{
        client: BedrockRuntimeClient;
        ConverseCommand: typeof import('@aws-sdk/client-bedrock-runtime').ConverseCommand;
      }>
    | undefined;
  const load = () =>
    (loaded ??= import('@aws-sdk/client-bedrock-runtime').then(
      ({ BedrockRuntimeClient, ConverseCommand }) => ({
        ConverseCommand,
        client: new BedrockRuntimeClient({
          // HTTP/1.1: Converse is one request and one answer, and the SDK's default HTTP/2 cannot speak
          // to an http:// endpoint (a local stand-in or proxy).
          requestHandler: new NodeHttpHandler(),
          ...options.client,
          ...(options.region ? { region: options.region } : {}),
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
          maxAttempts: 1,
        }),
      }),
    ));
  /** Models that refused native structured output: asked with the forced tool from then on. */
  const toolOnly = new Set<string>();

  /** One Converse request, aborted at `deadline` (epoch ms) or by the step's signal. */
  async function converse(
    input: ConverseCommandInput,
    request: AiRequest,
    deadline: number,
  ): Promise<ConverseCommandOutput> {
    const budget = AbortSignal.timeout(Math.max(1, Math.round(deadline - Date.now())));
    const signal = request.signal ? AbortSignal.any([request.signal, budget]) : budget;
    try {
      const { client, ConverseCommand } = await load();
      return await client.send(new ConverseCommand(input), { abortSignal: signal });
    } catch (error) {
      throw mapError(error, request, budget.aborted);
    }
  }

  return {
    name: 'bedrock',
    async generate(request: AiRequest): Promise<AiResponse> {
      if (request.signal?.aborted || request.timeoutMs <= 0) {
        throw new StepError('AiTimeout', 'The time for the model call ran out before it started', {
          retryable: true,
        });
      }
      // A fallback to the tool shares the call's budget with the refused native attempt.
      const deadline = Date.now() + request.timeoutMs;
      const model = request.model ?? options.model;
      const plan = toStrictSchema(request.json_schema);
      const base: ConverseCommandInput = {
        modelId: model,
        ...conversation(request),
        ...(request.temperature !== undefined
          ? { inferenceConfig: { temperature: request.temperature } }
          : {}),
      };
      const native = plan.strict && !toolOnly.has(model);
      let response: ConverseCommandOutput;
      try {
        response = await converse({ ...base, ...shapeOf(plan, native) }, request, deadline);
      } catch (error) {
        const refusedNative =
          native && error instanceof StepError && error.details?.exception === 'ValidationException';
        if (!refusedNative) throw error;
        // This model has no native structured output (or not for this schema): the tool says the same.
        toolOnly.add(model);
        response = await converse({ ...base, ...shapeOf(plan, false) }, request, deadline);
      }
      const details = response.$metadata?.requestId ? { request_id: response.$metadata.requestId } : {};
      switch (response.stopReason) {
        case 'guardrail_intervened':
        case 'content_filtered':
          throw new StepError('AiRefused', 'The model refused to answer', {
            retryable: false,
            details: { ...details, stop_reason: response.stopReason },
          });
        case 'max_tokens':
        case 'model_context_window_exceeded':
          throw new StepError('AiIncomplete', 'The answer was cut off at the token limit', {
            retryable: false,
            details: {
              ...details,
              stop_reason: response.stopReason,
              tokens_output: response.usage?.outputTokens ?? null,
            },
          });
      }
      // Anything else (end_turn, tool_use, a malformed answer) is validated by the step, which gives feedback.
      const raw = answerText(response.output?.message?.content);
      const parsed = parseJsonText(raw);
      const text = parsed.ok ? JSON.stringify(plan.restore(parsed.value)) : raw;
      return {
        text,
        ...(text !== raw ? { raw_text: raw } : {}),
        model,
        tokens_prompt: response.usage?.inputTokens ?? 0,
        tokens_output: response.usage?.outputTokens ?? 0,
        ...(response.$metadata?.requestId ? { request_id: response.$metadata.requestId } : {}),
        ...(response.metrics?.latencyMs !== undefined
          ? { provider_latency_ms: response.metrics.latencyMs }
          : {}),
      };
    },
  };
}
