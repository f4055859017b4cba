/**
 * The one composition function: builds the orchestrator's dependencies from the ports. The Lambda
 * wiring, the local runtime, the CLI, the harness, the tests and the benchmark all call it, so a new
 * port or provider is a change here and in its settings, nowhere else (docs/architecture.md).
 */
// V8's linear-time fallback for runaway regexes, set before any workflow runs (see the module).
import '../adapters/regexp-guard.js';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { systemClock } from '../adapters/clock.js';
import { randomIds } from '../adapters/ids.js';
import { createBedrockProvider } from '../ai/bedrock-provider.js';
import {
  createMockAiProvider,
  type MockAiAnswers,
  type MockAiMode,
  mockAiOptionsFromEnv,
  parseMockAiAnswers,
} from '../ai/mock-provider.js';
import { createOpenAiProvider, OPENAI_DEFAULT_MODEL } from '../ai/openai-provider.js';
import { type AiPolicy, DEFAULT_AI_POLICY, withAiPolicy } from '../ai/policy.js';
import { type PriceTable, pricesFromEnv } from '../ai/prices.js';
import { ConfigurationError } from '../errors.js';
import type { Redactor } from '../expressions/index.js';
import { createNotifier } from '../notifications/notifier.js';
import { createSmtpMail } from '../notifications/smtp-mail.js';
import type {
  AiProvider,
  Clock,
  Executions,
  HttpClient,
  Ids,
  MailSender,
  Metrics,
  SecretSource,
  Stores,
  TaskTokens,
  Telemetry,
} from '../ports/index.js';
import { createStepRegistry, type StepRegistry } from '../steps/registry.js';
import { keepVersions } from '../storage/kept-versions.js';
import { orchestratedChildren } from './children.js';
import type { OrchestratorDeps } from './orchestrator.js';
import { observeAi } from './run-telemetry.js';

/**
 * Which model answers `ai_generate` (each provider adds its own variant here), and what every
 * provider shares: the price table (default the built-in one) and whether prompt and answer text
 * may be captured in events (default no).
 */
export type AiSettings = (
  | { provider: 'mock'; mode: MockAiMode; seed: number; answers?: MockAiAnswers }
  | { provider: 'openai'; apiKey: string; baseUrl?: string; model: string }
  | { provider: 'bedrock'; model: string; region?: string; endpoint?: string }
) & { prices?: PriceTable; captureContent?: boolean };

/** What a host decides by configuration (parsed once from the environment by `orchestratorSettings`). */
export interface OrchestratorSettings {
  /** CONTRACT §5: may `api_call` reach private ranges (FLOWRUNNER_ALLOW_PRIVATE_NETWORK=true; loopback too). */
  allowPrivateNetwork: boolean;
  /** CONTRACT §5: may `api_call` reach loopback (the local default). */
  allowLoopback: boolean;
  ai: AiSettings;
  /** Budget of one expression evaluation (default 1,000 ms). */
  expressionTimeoutMs?: number;
  /** Hand off to a fresh execution after this many state transitions. */
  handoffAfterTransitions?: number;
  notifications?: NotificationSettings;
  /** OrchestratorDeps.claimsOrphanedBefore (the local server's start). */
  claimsOrphanedBefore?: Date;
}

/** How people are told that a wait needs them (CONTRACT §8), as configured. */
export interface NotificationSettings {
  /** FLOWRUNNER_PUBLIC_URL: where people open the console; else the host's own URL. */
  publicUrl?: string;
  /** FLOWRUNNER_SMTP_URL: mail through this SMTP server (one machine). */
  smtpUrl?: string;
  /** FLOWRUNNER_MAIL_FROM: the sender of notification mail. */
  mailFrom?: string;
}

/** The sender when none is configured (SMTP servers for tests accept it; SES needs a verified one). */
export const DEFAULT_MAIL_FROM = 'Flowrunner <flowrunner@localhost>';

/** The adapters a host chooses: where runs are stored, how the state machine is reached, the services. */
export interface OrchestratorPorts {
  stores: Stores;
  tokens: TaskTokens;
  executions: Executions;
  secrets: SecretSource;
  http: HttpClient;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: random URL-safe ids. */
  ids?: Ids;
  /** Default: the built-in step types. */
  registry?: StepRegistry;
  /** Replaces the provider the settings choose (tests script a model this way). */
  ai?: AiProvider;
  /** Collects every secret value resolved in this process, so that logs can be scrubbed too. */
  redactor?: Redactor;
  /** Traces (default none: the no-op, which costs nothing). */
  telemetry?: Telemetry;
  /** Metrics (default none). */
  metrics?: Metrics;
  /** The mail channel the host has (SES in the cloud); FLOWRUNNER_SMTP_URL builds one otherwise. */
  mail?: MailSender;
  /** Locally the outbox is the mailbox people read: an e-mail recorded there counts as delivered. */
  outboxIsMailbox?: boolean;
  /** The host's own URL, once it listens: where links point when FLOWRUNNER_PUBLIC_URL is not set. */
  publicUrl?: () => string;
}

export function composeOrchestrator(
  ports: OrchestratorPorts,
  settings: OrchestratorSettings,
): OrchestratorDeps {
  const clock = ports.clock ?? systemClock;
  const ids = ports.ids ?? randomIds;
  const { tokens, executions } = ports;
  // A run's pinned version is asked for on nearly every request: each is read once per process.
  const stores: Stores = { ...ports.stores, workflows: keepVersions(ports.stores.workflows) };
  const registry = ports.registry ?? createStepRegistry();
  const notifications = settings.notifications ?? {};
  const mail =
    ports.mail ??
    (notifications.smtpUrl
      ? createSmtpMail({ url: notifications.smtpUrl, from: notifications.mailFrom ?? DEFAULT_MAIL_FROM })
      : undefined);
  const notifier = createNotifier({
    stores,
    http: ports.http,
    clock,
    publicUrl: () => notifications.publicUrl ?? ports.publicUrl?.() ?? 'http://127.0.0.1:3000',
    ...(mail ? { mail } : {}),
    outboxIsMailbox: ports.outboxIsMailbox ?? false,
    allowPrivateNetwork: settings.allowPrivateNetwork,
    allowLoopback: settings.allowLoopback || settings.allowPrivateNetwork,
  });
  return {
    notifier,
    stores,
    tokens,
    executions,
    clock,
    ids,
    registry,
    secrets: ports.secrets,
    http: ports.http,
    ai: observeAi(withAiPolicy(ports.ai ?? aiProvider(settings.ai), aiPolicy(settings.ai)), ports),
    templates: stores.templates,
    children: orchestratedChildren({
      stores,
      clock,
      ids,
      tokens,
      executions,
      registry,
      ...(ports.telemetry ? { telemetry: ports.telemetry } : {}),
      ...(ports.metrics ? { metrics: ports.metrics } : {}),
    }),
    allowPrivateNetwork: settings.allowPrivateNetwork,
    allowLoopback: settings.allowLoopback || settings.allowPrivateNetwork,
    ...(ports.redactor ? { redactor: ports.redactor } : {}),
    ...(ports.telemetry ? { telemetry: ports.telemetry } : {}),
    ...(ports.metrics ? { metrics: ports.metrics } : {}),
    ...(settings.expressionTimeoutMs === undefined
      ? {}
      : { expressionTimeoutMs: settings.expressionTimeoutMs }),
    ...(settings.handoffAfterTransitions === undefined
      ? {}
      : { handoffAfterTransitions: settings.handoffAfterTransitions }),
    ...(settings.claimsOrphanedBefore === undefined
      ? {}
      : { claimsOrphanedBefore: settings.claimsOrphanedBefore }),
  };
}

function aiPolicy(settings: AiSettings): AiPolicy {
  return {
    prices: settings.prices ?? DEFAULT_AI_POLICY.prices,
    captureContent: settings.captureContent ?? DEFAULT_AI_POLICY.captureContent,
  };
}

function aiProvider(settings: AiSettings): AiProvider {
  switch (settings.provider) {
    case 'mock':
      return createMockAiProvider({
        mode: settings.mode,
        seed: settings.seed,
        ...(settings.answers ? { answers: settings.answers } : {}),
      });
    case 'openai':
      return createOpenAiProvider({
        apiKey: settings.apiKey,
        model: settings.model,
        ...(settings.baseUrl ? { baseUrl: settings.baseUrl } : {}),
      });
    case 'bedrock':
      return createBedrockProvider({
        model: settings.model,
        ...(settings.region ? { region: settings.region } : {}),
        ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      });
  }
}

const AI_PROVIDERS = ['mock', 'openai', 'bedrock'] as const;

/**
 * The AI provider's settings (CONTRACT §5, §7): `AI_PROVIDER` (mock|openai|bedrock; default openai when
 * `OPENAI_API_KEY` is set, else mock), `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL`; for Bedrock
 * `BEDROCK_MODEL`, the region (`AWS_REGION`, else `AWS_DEFAULT_REGION`) and
 * `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` (the SDK's own name for another endpoint); and for
 * the mock `MOCK_AI_MODE`, `MOCK_AI_SEED` and `MOCK_AI_ANSWERS` (a YAML or JSON file); for every
 * provider `FLOWRUNNER_AI_PRICES` (JSON prices laid over the built-in table, shared/ai/prices.ts) and
 * `FLOWRUNNER_CAPTURE_AI_CONTENT` (`true`: prompt and answer text in `ai.*` events; default `false`).
 */
export function aiSettings(env: Record<string, string | undefined>): AiSettings {
  const common = sharedAiSettings(env);
  return { ...providerSettings(env), ...common };
}

const captureContent = z.enum(['true', 'false']).optional();

/** Only what differs from the defaults (built-in prices, no capture). */
function sharedAiSettings(env: Record<string, string | undefined>): {
  prices?: PriceTable;
  captureContent?: true;
} {
  const capture = captureContent.safeParse(env.FLOWRUNNER_CAPTURE_AI_CONTENT?.trim() || undefined);
  if (!capture.success) {
    throw new ConfigurationError(
      `FLOWRUNNER_CAPTURE_AI_CONTENT must be true or false, got '${env.FLOWRUNNER_CAPTURE_AI_CONTENT}'`,
      { details: { variable: 'FLOWRUNNER_CAPTURE_AI_CONTENT' } },
    );
  }
  return {
    ...(env.FLOWRUNNER_AI_PRICES?.trim() ? { prices: pricesFromEnv(env.FLOWRUNNER_AI_PRICES) } : {}),
    ...(capture.data === 'true' ? { captureContent: true as const } : {}),
  };
}

function providerSettings(env: Record<string, string | undefined>): AiSettings {
  const chosen = env.AI_PROVIDER?.trim() || (env.OPENAI_API_KEY?.trim() ? 'openai' : 'mock');
  if (!(AI_PROVIDERS as readonly string[]).includes(chosen)) {
    throw new ConfigurationError(`AI_PROVIDER must be one of ${AI_PROVIDERS.join(', ')}, got '${chosen}'`, {
      details: { variable: 'AI_PROVIDER' },
    });
  }
  if (chosen === 'openai') {
    const apiKey = env.OPENAI_API_KEY?.trim();
    if (!apiKey) {
      throw new ConfigurationError('AI_PROVIDER=openai needs OPENAI_API_KEY', {
        details: { variable: 'OPENAI_API_KEY' },
      });
    }
    const baseUrl = env.OPENAI_BASE_URL?.trim() || undefined;
    if (baseUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(baseUrl)) {
      throw new ConfigurationError(`OPENAI_BASE_URL must be an http(s) URL, got '${baseUrl}'`, {
        details: { variable: 'OPENAI_BASE_URL' },
      });
    }
    const model = env.OPENAI_MODEL?.trim() || OPENAI_DEFAULT_MODEL;
    if (model.length > 200) {
      throw new ConfigurationError('OPENAI_MODEL must be a model name of at most 200 characters', {
        details: { variable: 'OPENAI_MODEL' },
      });
    }
    return { provider: 'openai', apiKey, model, ...(baseUrl ? { baseUrl } : {}) };
  }
  if (chosen === 'bedrock') return bedrockSettings(env);
  const file = env.MOCK_AI_ANSWERS?.trim();
  let answers: MockAiAnswers | undefined;
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigurationError(
        `MOCK_AI_ANSWERS: cannot read '${file}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        { details: { variable: 'MOCK_AI_ANSWERS' } },
      );
    }
    answers = parseMockAiAnswers(text, `'${file}'`);
  }
  return { provider: 'mock', ...mockAiOptionsFromEnv(env), ...(answers ? { answers } : {}) };
}

/** A model id (`anthropic.claude-…-v1:0`), an inference profile id (`eu.…`) or either's ARN. */
const BEDROCK_MODEL = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,2047}$/;

function bedrockSettings(env: Record<string, string | undefined>): AiSettings {
  const model = env.BEDROCK_MODEL?.trim();
  if (!model) {
    throw new ConfigurationError(
      'AI_PROVIDER=bedrock needs BEDROCK_MODEL (a model or inference profile id)',
      {
        details: { variable: 'BEDROCK_MODEL' },
      },
    );
  }
  if (!BEDROCK_MODEL.test(model)) {
    throw new ConfigurationError(`BEDROCK_MODEL is not a Bedrock model id or ARN: '${model}'`, {
      details: { variable: 'BEDROCK_MODEL' },
    });
  }
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || undefined;
  const endpoint = env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME?.trim() || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new ConfigurationError(
      `AWS_ENDPOINT_URL_BEDROCK_RUNTIME must be an http(s) URL, got '${endpoint}'`,
      {
        details: { variable: 'AWS_ENDPOINT_URL_BEDROCK_RUNTIME' },
      },
    );
  }
  return { provider: 'bedrock', model, ...(region ? { region } : {}), ...(endpoint ? { endpoint } : {}) };
}

const privateNetwork = z.enum(['true', 'false']).optional();

/**
 * Reads the settings from the environment: `FLOWRUNNER_ALLOW_PRIVATE_NETWORK` (`true`: private
 * ranges and loopback; `false`: neither; unset: the host's default for loopback, no private ranges),
 * and the AI provider's (`aiSettings`). A bad value throws a ConfigurationError naming it.
 */
export function orchestratorSettings(
  env: Record<string, string | undefined>,
  defaults: { allowLoopback: boolean },
): OrchestratorSettings {
  const allow = privateNetwork.safeParse(env.FLOWRUNNER_ALLOW_PRIVATE_NETWORK || undefined);
  if (!allow.success) {
    throw new ConfigurationError('FLOWRUNNER_ALLOW_PRIVATE_NETWORK must be true or false');
  }
  return {
    allowPrivateNetwork: allow.data === 'true',
    allowLoopback: allow.data === undefined ? defaults.allowLoopback : allow.data === 'true',
    ai: aiSettings(env),
    notifications: notificationSettings(env),
  };
}

/**
 * `FLOWRUNNER_PUBLIC_URL` (an http(s) URL), `FLOWRUNNER_SMTP_URL` (smtp:// or smtps://) and
 * `FLOWRUNNER_MAIL_FROM` (the sender), each optional; a bad value names itself.
 */
export function notificationSettings(env: Record<string, string | undefined>): NotificationSettings {
  const settings: NotificationSettings = {};
  const publicUrl = env.FLOWRUNNER_PUBLIC_URL?.trim();
  if (publicUrl) {
    if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(publicUrl)) {
      throw new ConfigurationError(`FLOWRUNNER_PUBLIC_URL must be an http(s) URL, got '${publicUrl}'`, {
        details: { variable: 'FLOWRUNNER_PUBLIC_URL' },
      });
    }
    settings.publicUrl = publicUrl.replace(/\/+$/, '');
  }
  const smtpUrl = env.FLOWRUNNER_SMTP_URL?.trim();
  if (smtpUrl) {
    // The URL may hold a password: the message names the variable, never the value.
    if (!/^smtps?:\/\/\S+$/.test(smtpUrl)) {
      throw new ConfigurationError('FLOWRUNNER_SMTP_URL must be an smtp:// or smtps:// URL', {
        details: { variable: 'FLOWRUNNER_SMTP_URL' },
      });
    }
    settings.smtpUrl = smtpUrl;
  }
  const mailFrom = env.FLOWRUNNER_MAIL_FROM?.trim();
  if (mailFrom) settings.mailFrom = mailFrom;
  return settings;
}
