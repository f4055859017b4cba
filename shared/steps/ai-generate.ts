/**
 * `ai_generate`: asks a model for JSON that must fit `json_schema`, retrying with the validation errors.
 *
 * Events: one `ai.request` per call and one `ai.response` per answered call (a call that throws has
 * none: the step's failure carries the error). `ai.response` carries the usage of CONTRACT §4/§7:
 * provider, model, template, tokens, latency, retry count and `cost_usd` (`null` for a model without
 * a price). Events hold names, counts and times only, never the prompt or the answer, which may hold
 * personal data — unless the host sets `FLOWRUNNER_CAPTURE_AI_CONTENT=true`: then `ai.request`
 * carries the messages sent and `ai.response` the answer, each cut to CAPTURED_TEXT_LIMIT and
 * scrubbed of resolved secrets with the rest of the step's result (shared/orchestration/executor.ts).
 *
 * The price and the capture setting come from the composition function's wrapper of the provider
 * (shared/ai/policy.ts), read structurally here: the pure core imports no host module. A provider
 * used bare (a step's unit test) prices nothing, and the cost fields are left out.
 */
import { z } from 'zod';
import { jsonSchemaDocument, templated } from '../definition/schema.js';
import { EventType } from '../engine/types.js';
import { StepError } from '../errors.js';
import { checkJsonAnswer, type SchemaIssue, validatorFor } from '../json-schema/index.js';
import type { AiMessage, AiProvider, AiResponse, PromptTemplate } from '../ports/index.js';
import { renderedNumber, textOf } from './rendered.js';
import { defineStepType, type StepExecutionContext } from './types.js';

export const aiGenerateConfig = z
  .object({
    prompt: z.string().min(1).max(100_000).optional(),
    template_id: z.string().min(1).max(128).optional(),
    template_version: z.int().min(1).optional(),
    /** What a template's placeholders see, by name (rendered against the run context first, like all config). */
    variables: z.record(z.string(), z.unknown()).optional(),
    system: z.string().max(100_000).optional(),
    model: z.string().max(200).optional(),
    json_schema: jsonSchemaDocument,
    max_retries: z.int().min(0).max(10).default(2),
    temperature: templated(z.number().min(0).max(2)).optional(),
    timeout_s: templated(z.number().positive().max(900)).optional(),
  })
  .strict()
  .refine((c) => (c.prompt === undefined) !== (c.template_id === undefined), {
    message: 'give either prompt or template_id',
    path: ['prompt'],
  })
  .refine(
    (c) => c.template_id !== undefined || (c.template_version === undefined && c.variables === undefined),
    {
      message: 'template_version and variables go with template_id',
      path: ['template_id'],
    },
  );
export type AiGenerateConfig = z.infer<typeof aiGenerateConfig>;

/** One model call when neither the step's `timeout_s` nor its config says otherwise. */
const DEFAULT_CALL_TIMEOUT_MS = 60_000;
/** How many validation errors the correction message and the final error list. */
const MAX_LISTED_ISSUES = 20;

type Context = StepExecutionContext<AiGenerateConfig>;

/** The longest text an event keeps of one captured message or answer (events are stored in DynamoDB items). */
export const CAPTURED_TEXT_LIMIT = 4_000;

/** A captured text, cut to CAPTURED_TEXT_LIMIT with a note of how much was left out. */
export function capturedText(text: string): string {
  if (text.length <= CAPTURED_TEXT_LIMIT) return text;
  return `${text.slice(0, CAPTURED_TEXT_LIMIT)}…[${text.length - CAPTURED_TEXT_LIMIT} more characters not kept]`;
}

/** What the host's policy wrapper (shared/ai/policy.ts) adds to the port, as this step reads it. */
type WithPolicy = AiProvider & { readonly captureContent?: unknown };
type MaybePriced = AiResponse & { cost_usd?: unknown; price_version?: unknown };

/** `cost_usd` and `price_version` of a priced answer; nothing for an answer no policy priced. */
export function costOf(response: MaybePriced): { cost_usd?: number | null; price_version?: string } {
  if (!('cost_usd' in response)) return {};
  const cost =
    typeof response.cost_usd === 'number' && Number.isFinite(response.cost_usd) ? response.cost_usd : null;
  return {
    cost_usd: cost,
    ...(typeof response.price_version === 'string' ? { price_version: response.price_version } : {}),
  };
}

/**
 * The prompt and system text: from the config (already rendered), or from a template rendered here
 * against the step's `variables`. Without `template_version` the run uses the version it is pinned to
 * (the one in force when it started), so an update of the template never changes a run under way.
 */
async function promptOf(
  ctx: Context,
): Promise<{ prompt: string; system?: string; template?: PromptTemplate }> {
  const { prompt, system, template_id, template_version, variables = {} } = ctx.config;
  if (template_id === undefined) return { prompt: prompt ?? '', ...(system !== undefined ? { system } : {}) };
  const template =
    template_version === undefined
      ? await ctx.deps.templates.pinned(template_id, ctx.run.started_at)
      : await ctx.deps.templates.get(template_id, template_version);
  const renderedPrompt = textOf(await ctx.render(template.text, variables));
  // The step's own `system` wins over the template's.
  const renderedSystem =
    system ??
    (template.system !== undefined ? textOf(await ctx.render(template.system, variables)) : undefined);
  return {
    prompt: renderedPrompt,
    ...(renderedSystem !== undefined ? { system: renderedSystem } : {}),
    template,
  };
}

/**
 * One call's budget: the config's `timeout_s`, never more than what is left of the attempt's time
 * when the call starts (a feedback retry has less left than the first call).
 */
function callBudget(ctx: Context): () => number {
  const own =
    ctx.config.timeout_s === undefined
      ? DEFAULT_CALL_TIMEOUT_MS
      : renderedNumber(ctx.config.timeout_s, 'timeout_s', { min: 0, exclusiveMin: true, max: 900 }) * 1000;
  if (ctx.timeoutMs === undefined) return () => own;
  const now = () => ctx.deps.clock.now().getTime();
  const attemptEnds = now() + ctx.timeoutMs;
  return () => Math.max(0, Math.min(own, attemptEnds - now()));
}

function correction(issues: SchemaIssue[], notJson: boolean): string {
  if (notJson) {
    return 'Your answer was not valid JSON. Answer again with only a JSON value that is valid against the JSON Schema, without any other text.';
  }
  const listed = issues.slice(0, MAX_LISTED_ISSUES).map((i) => `- at ${i.path}: ${i.message}`);
  return [
    'Your answer was not valid against the JSON Schema:',
    ...listed,
    'Answer again with only the corrected JSON value, without any other text.',
  ].join('\n');
}

export const aiGenerate = defineStepType({
  type: 'ai_generate',
  description: 'Calls an AI model whose answer must be valid against json_schema; outcome `success`.',
  config: aiGenerateConfig,
  action: true,
  outcomes: () => ['success'],
  execute: async (ctx) => {
    const { json_schema, max_retries } = ctx.config;
    const validate = validatorFor(json_schema);
    const temperature =
      ctx.config.temperature === undefined
        ? undefined
        : renderedNumber(ctx.config.temperature, 'temperature', { min: 0, max: 2 });
    const budget = callBudget(ctx);
    const { prompt, system, template } = await promptOf(ctx);
    // The step's model, else the template's, else the provider's default.
    const model = ctx.config.model ?? template?.model;
    const messages: AiMessage[] = [
      ...(system !== undefined ? [{ role: 'system' as const, content: system }] : []),
      { role: 'user', content: prompt },
    ];
    const provider = ctx.deps.ai;
    const capture = (provider as WithPolicy).captureContent === true;
    const templateRef = template ? { template_id: template.id, template_version: template.version } : {};
    const calls = max_retries + 1;
    let issues: SchemaIssue[] = [];

    // What this call adds to the conversation, for captured events: the first call's messages, then
    // each correction (the assistant's answer before it is already on the previous `ai.response`).
    let fresh: AiMessage[] = [...messages];
    for (let call = 1; call <= calls; call++) {
      if (ctx.signal.aborted) {
        throw new StepError('AiTimeout', "The step's time ran out before the model gave a valid answer", {
          retryable: true,
        });
      }
      ctx.emit({
        type: EventType.aiRequest,
        data: {
          provider: provider.name,
          model: model ?? null,
          ...templateRef,
          attempt: call,
          ...(capture
            ? { messages: fresh.map((m) => ({ role: m.role, content: capturedText(m.content) })) }
            : {}),
        },
      });
      const started = performance.now();
      const response = await provider.generate({
        ...(model !== undefined ? { model } : {}),
        messages: [...messages],
        json_schema,
        ...(temperature !== undefined ? { temperature } : {}),
        timeoutMs: budget(),
        signal: ctx.signal,
        step_id: ctx.step.id,
      });
      const latencyMs = Math.round(performance.now() - started);
      // `text` is already in the shape of the step's schema (a provider that sent a strict variant has
      // removed its added nulls and `{value}` wrapper): validated against the step's own json_schema.
      const answer = checkJsonAnswer(response.text, validate);
      ctx.emit({
        type: EventType.aiResponse,
        data: {
          provider: provider.name,
          model: response.model,
          template_id: template?.id ?? null,
          template_version: template?.version ?? null,
          tokens_prompt: response.tokens_prompt,
          tokens_output: response.tokens_output,
          latency_ms: latencyMs,
          ...(response.provider_latency_ms !== undefined
            ? { provider_latency_ms: response.provider_latency_ms }
            : {}),
          retry_count: call - 1,
          ...costOf(response),
          valid: answer.ok,
          ...(capture ? { answer: capturedText(response.raw_text ?? response.text) } : {}),
        },
      });
      if (answer.ok) return { status: 'completed', outcome: 'success', output: answer.value };
      issues = answer.issues;
      const feedback: AiMessage = { role: 'user', content: correction(answer.issues, answer.notJson) };
      messages.push({ role: 'assistant', content: response.raw_text ?? response.text }, feedback);
      fresh = [feedback];
    }

    const listed = issues.slice(0, MAX_LISTED_ISSUES);
    throw new StepError(
      'AiSchemaViolation',
      `The model's answer did not fit json_schema after ${calls} ${calls === 1 ? 'try' : 'tries'}: ${listed
        .map((i) => `${i.path} ${i.message}`)
        .join('; ')}`,
      { retryable: false, details: { errors: listed, tries: calls } },
    );
  },
});
