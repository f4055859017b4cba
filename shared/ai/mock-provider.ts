/**
 * The mock AI provider (CONTRACT §5 `MOCK_AI_MODE`, `MOCK_AI_SEED`): answers without a network, the
 * same way every time, and plays the failures a real model has so workflows can be tried against them.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigurationError, StepError } from '../errors.js';
import type { AiProvider, AiRequest, AiResponse } from '../ports/index.js';
import { hashText, mulberry32, resolveRootSchema, sampleFromSchema } from './schema-sample.js';

export const MockAiMode = {
  success: 'success',
  schemaViolation: 'schema_violation',
  timeout: 'timeout',
  transientError: 'transient_error',
} as const;
export type MockAiMode = (typeof MockAiMode)[keyof typeof MockAiMode];

export interface MockAiOptions {
  mode?: MockAiMode;
  seed?: number;
  /** Fixed answers (`MOCK_AI_ANSWERS`), checked before the generated one. */
  answers?: MockAiAnswers;
}

/**
 * Fixed answers by step id, or by a substring of the prompt (the first that the prompt contains, in
 * the file's order). An answer is any JSON value; the step still validates it against its schema.
 */
export interface MockAiAnswers {
  steps?: Record<string, unknown>;
  prompts?: Record<string, unknown>;
}

const mockAnswersFile = z.strictObject({
  steps: z.record(z.string(), z.unknown()).optional(),
  prompts: z.record(z.string().min(1), z.unknown()).optional(),
});

/** Reads the text of a `MOCK_AI_ANSWERS` file (YAML or JSON: JSON is YAML); a bad file names the variable. */
export function parseMockAiAnswers(text: string, source = 'MOCK_AI_ANSWERS'): MockAiAnswers {
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error) {
    throw new ConfigurationError(
      `MOCK_AI_ANSWERS: ${source} is neither YAML nor JSON: ${(error as Error).message}`,
      {
        details: { variable: 'MOCK_AI_ANSWERS' },
      },
    );
  }
  const parsed = mockAnswersFile.safeParse(document ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigurationError(
      `MOCK_AI_ANSWERS: ${source} must be {steps?: {<step id>: answer}, prompts?: {<prompt substring>: answer}} (${issue?.path.join('.') || 'root'}: ${issue?.message})`,
      { details: { variable: 'MOCK_AI_ANSWERS' } },
    );
  }
  return parsed.data as MockAiAnswers;
}

function fixedAnswer(
  answers: MockAiAnswers | undefined,
  request: AiRequest,
): { found: boolean; value?: unknown } {
  if (!answers) return { found: false };
  if (request.step_id !== undefined && answers.steps && Object.hasOwn(answers.steps, request.step_id)) {
    return { found: true, value: answers.steps[request.step_id] };
  }
  if (answers.prompts) {
    const text = request.messages.map((m) => m.content).join('\n');
    for (const [needle, value] of Object.entries(answers.prompts)) {
      if (text.includes(needle)) return { found: true, value };
    }
  }
  return { found: false };
}

const MODES = Object.values(MockAiMode) as [MockAiMode, ...MockAiMode[]];
const unsetWhenEmpty = (value: unknown) => (value === '' ? undefined : value);

const mockAiEnv = z.object({
  MOCK_AI_MODE: z.preprocess(unsetWhenEmpty, z.enum(MODES).default('success')),
  MOCK_AI_SEED: z.preprocess(
    unsetWhenEmpty,
    z
      .string()
      .regex(/^-?\d{1,15}$/)
      .transform(Number)
      .default(0),
  ),
});

/** Reads `MOCK_AI_MODE` (default success) and `MOCK_AI_SEED` (default 0); a bad value names its variable. */
export function mockAiOptionsFromEnv(
  env: Record<string, string | undefined>,
): Required<Pick<MockAiOptions, 'mode' | 'seed'>> {
  const parsed = mockAiEnv.safeParse(env);
  if (parsed.success) return { mode: parsed.data.MOCK_AI_MODE, seed: parsed.data.MOCK_AI_SEED };
  const variable = String(parsed.error.issues[0]?.path[0] ?? 'MOCK_AI_MODE');
  const expected =
    variable === 'MOCK_AI_MODE'
      ? `one of ${MODES.join(', ')}`
      : 'a whole number (the seed of the mock answers)';
  throw new ConfigurationError(`${variable} must be ${expected}, got '${env[variable]}'`, {
    details: { variable },
  });
}

/** The model name the mock answers with when the request names none. */
export const MOCK_MODEL = 'mock-json-1';
/** How many prompts `transient_error` remembers having failed once. */
const MAX_REMEMBERED_PROMPTS = 10_000;

const estimateTokens = (text: string) => Math.ceil(text.length / 4);

function promptText(request: AiRequest): string {
  return request.messages.map((m) => `${m.role}: ${m.content}`).join('\n');
}

/** Waits until the request's time is up or it is aborted, then fails the way a slow model does. */
function timeOut(request: AiRequest): Promise<never> {
  return new Promise((_resolve, reject) => {
    const fail = () => {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', fail);
      reject(
        new StepError('AiTimeout', `The model did not answer within ${request.timeoutMs} ms`, {
          retryable: true,
        }),
      );
    };
    const timer = setTimeout(fail, Math.max(0, request.timeoutMs));
    if (request.signal?.aborted) fail();
    else request.signal?.addEventListener('abort', fail, { once: true });
  });
}

const JSON_TYPES: Array<[string, unknown]> = [
  ['string', 'not the expected type'],
  ['number', 1.5],
  ['boolean', true],
  ['array', []],
  ['object', {}],
  ['null', null],
];

/**
 * A wrong answer: the valid value without its first required key, or else a value of a type the
 * schema does not allow, or else (a schema that allows any type) text that is not JSON.
 */
function violation(schema: Record<string, unknown>, valid: unknown): string {
  const root = resolveRootSchema(schema);
  const required = Array.isArray(root.required) ? root.required.filter((k) => typeof k === 'string') : [];
  if (required.length > 0 && typeof valid === 'object' && valid !== null && !Array.isArray(valid)) {
    const { [required[0] as string]: _dropped, ...rest } = valid as Record<string, unknown>;
    return JSON.stringify(rest);
  }
  const declared =
    typeof root.type === 'string' ? [root.type] : Array.isArray(root.type) ? root.type : undefined;
  // 1.5 stands for `number`: it is wrong where only `integer` is allowed.
  const wrong = declared && JSON_TYPES.find(([type]) => !declared.includes(type));
  return wrong ? JSON.stringify(wrong[1]) : 'This answer is not JSON.';
}

/** The mock provider; one instance remembers which prompts `transient_error` has already failed. */
export function createMockAiProvider(options: MockAiOptions = {}): AiProvider {
  const mode = options.mode ?? MockAiMode.success;
  const seed = options.seed ?? 0;
  const failedOnce = new Set<number>();

  return {
    name: 'mock',
    async generate(request: AiRequest): Promise<AiResponse> {
      if (mode === MockAiMode.timeout) return timeOut(request);
      if (request.signal?.aborted) {
        throw new StepError('AiTimeout', 'The request was aborted before the model answered', {
          retryable: true,
        });
      }
      const prompt = promptText(request);
      const schemaText = JSON.stringify(request.json_schema);
      if (mode === MockAiMode.transientError) {
        const key = hashText(`${schemaText}\n${prompt}`);
        if (!failedOnce.has(key)) {
          if (failedOnce.size >= MAX_REMEMBERED_PROMPTS) failedOnce.clear();
          failedOnce.add(key);
          throw new StepError(
            'AiUnavailable',
            'The model is unavailable for a moment (mock transient_error)',
            {
              retryable: true,
            },
          );
        }
      }
      const fixed = fixedAnswer(options.answers, request);
      if (fixed.found) {
        const text = JSON.stringify(fixed.value ?? null);
        return {
          text,
          model: request.model ?? MOCK_MODEL,
          tokens_prompt: estimateTokens(prompt),
          tokens_output: estimateTokens(text),
        };
      }
      const random = mulberry32(hashText(`${seed}\n${schemaText}\n${prompt}`));
      const value = sampleFromSchema(request.json_schema, random);
      const text =
        mode === MockAiMode.schemaViolation ? violation(request.json_schema, value) : JSON.stringify(value);
      return {
        text,
        model: request.model ?? MOCK_MODEL,
        tokens_prompt: estimateTokens(prompt),
        tokens_output: estimateTokens(text),
      };
    },
  };
}
