/**
 * How every Lambda function is bundled, as esbuild options: FlowFunction hands them to CDK's
 * NodejsFunction, and the cold-start benchmark (tests/bench/cold-start.ts) builds the same
 * bundles with esbuild itself to measure them. No CDK import here, so the benchmark stays light.
 */

/** The Lambda functions and their handler modules, relative to the repository root. */
export const LAMBDA_ENTRIES = {
  advance: 'functions/advance.ts',
  await_signal: 'functions/await-signal.ts',
  api: 'functions/api/handler.ts',
  trigger: 'functions/trigger.ts',
  notify_retry: 'functions/notify-retry.ts',
} as const;

export type LambdaName = keyof typeof LAMBDA_ENTRIES;

/**
 * Packages left out of the bundle. The AWS SDK is bundled too: measured (docs/architecture.md, "What
 * a cold start costs"), a bundle with the SDK in it imports in less time than the same handler
 * reading the runtime's copy of the SDK, file by file, from node_modules.
 *
 * nodemailer is left out: it is the SMTP channel of one machine (FLOWRUNNER_SMTP_URL), which the
 * functions never use (they mail through SES), and `shared/notifications/smtp-mail.ts` imports it
 * only with the first mail. In a bundle it is 237 KB that every cold start parses for nothing.
 */
export const EXTERNAL_MODULES: readonly string[] = ['nodemailer'];

/**
 * The model clients, which the AI providers import with their first call (shared/ai/): left out of
 * the bundles of the functions that never call a model. Advance runs `ai_generate` and the API answers
 * `POST /v1/ai/infer`, and the stack gives only those two the AI settings (tests/infra/bedrock-model
 * and openai-secret tests); the others run the mock provider, which imports neither.
 */
const MODEL_CLIENTS: readonly string[] = ['openai', '@aws-sdk/client-bedrock-runtime'];
const CALLS_A_MODEL: readonly string[] = [LAMBDA_ENTRIES.advance, LAMBDA_ENTRIES.api];

/** The packages the bundle of the function at `entry` leaves out. */
export function externalModulesOf(entry: string): readonly string[] {
  return CALLS_A_MODEL.includes(entry) ? EXTERNAL_MODULES : [...EXTERNAL_MODULES, ...MODEL_CLIENTS];
}

/**
 * The Node options of every function: stack traces that point into the TypeScript sources. Node
 * reads the bundle's source map when it loads the bundle, which the cold-start figures include.
 */
export const FUNCTION_NODE_OPTIONS = '--enable-source-maps';

export const BUNDLING = {
  format: 'esm',
  target: 'node22',
  platform: 'node',
  mainFields: ['module', 'main'],
  sourcemap: true,
  sourcesContent: false,
  minify: true,
  // Some dependencies still call require(): give ESM a require of its own.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
} as const;
