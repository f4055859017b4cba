/**
 * The wiring of the Lambda runtime: the only place that chooses the AWS adapters. Clients are made
 * once per container, at module scope; settings are parsed at cold start (functions/environment.ts).
 * Here are the clients every function uses; a client only some functions use is in a module of its
 * own that only their entry points import (functions/notification-mail.ts, functions/api/trigger-ports.ts),
 * so the others neither bundle nor load it.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import { processSecrets } from '../shared/adapters/logger.js';
import { openAiKeyFromSecret } from '../shared/ai/openai-secret.js';
import { ConfigurationError } from '../shared/errors.js';
import { createNodeHttpClient } from '../shared/http/node-http-client.js';
import { composeOrchestrator, orchestratorSettings } from '../shared/orchestration/compose.js';
import type { OrchestratorDeps } from '../shared/orchestration/orchestrator.js';
import type { Executions, MailSender, TaskTokens } from '../shared/ports/index.js';
import { createSecretsManagerSource } from '../shared/secrets/secrets-manager.js';
import { createClaimCheck } from '../shared/storage/claim-check.js';
import { createDynamoDbClient } from '../shared/storage/dynamodb/client.js';
import { createDynamoDbStores } from '../shared/storage/dynamodb/stores.js';
import { createS3AnswerCopies } from '../shared/storage/s3/answer-copies.js';
import { createS3Artifacts } from '../shared/storage/s3/artifacts.js';
import { createS3PayloadBlobs } from '../shared/storage/s3/payload-blobs.js';
import { lazyS3Client } from '../shared/storage/s3/sdk.js';
import type { ApiKey } from './api/middleware/api-key-auth.js';
import { functionSettings } from './environment.js';
import { metrics, telemetry } from './observability.js';

export const settings = functionSettings();
const dynamodb = createDynamoDbClient();
// Made when an artifact or a large payload is first touched: most invocations never do.
const s3 = lazyS3Client();
const secretsManager = new SecretsManagerClient({});
// One middleware stack per command type, as for DynamoDB (shared/storage/dynamodb/client.ts).
const sfn = new SFNClient({ cacheMiddleware: true });

/** Errors of SendTaskSuccess that mean the token is no longer waiting: nothing to wake. */
const STALE_TOKEN = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export const taskTokens: TaskTokens = {
  async complete(token) {
    try {
      await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' }));
    } catch (error) {
      if (!STALE_TOKEN.has((error as { name?: string }).name ?? '')) throw error;
    }
  },
};

export const executions: Executions = {
  async start(input, name) {
    try {
      await sfn.send(
        new StartExecutionCommand({
          stateMachineArn: settings.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
    } catch (error) {
      // The execution of this run and generation exists: a repeated start is not a second run.
      if ((error as { name?: string }).name !== 'ExecutionAlreadyExists') throw error;
    }
  },
};

/** The signing keys, read once per container from their secret. */
const keys = (async () => {
  const answer = await secretsManager.send(new GetSecretValueCommand({ SecretId: settings.keysSecretArn }));
  const parsed = JSON.parse(answer.SecretString ?? '{}') as { cursor_key?: string; token_key?: string };
  if (!parsed.cursor_key || !parsed.token_key) {
    throw new ConfigurationError('The keys secret must hold cursor_key and token_key');
  }
  return { cursorKey: parsed.cursor_key, tokenKey: parsed.token_key };
})();

/**
 * The OpenAI API key, when the stack names its secret (FLOWRUNNER_OPENAI_SECRET_ARN): read once per
 * container, given to the AI settings as OPENAI_API_KEY (never put in the process's own environment).
 */
async function openAiKey(): Promise<string | undefined> {
  if (!settings.openAiSecretArn) return undefined;
  const answer = await secretsManager.send(new GetSecretValueCommand({ SecretId: settings.openAiSecretArn }));
  return openAiKeyFromSecret(answer.SecretString);
}

/** The API's answers too large for a Lambda to send (functions/api/large-answers.ts). */
export const answerCopies = createS3AnswerCopies({ client: s3, bucket: settings.bucket });

const largePayloads = createClaimCheck({
  blobs: createS3PayloadBlobs({ client: s3, bucket: settings.bucket }),
});

/** The ports only some functions have: an entry point passes the ones it wired. */
export interface FunctionPorts {
  /** Notification mail (functions/notification-mail.ts): the functions that notify people. */
  mail?: MailSender | undefined;
}

/**
 * How the function's entry point gets the orchestrator's dependencies: composed once per container,
 * on the first call (the store keys come from a secret, and so does the OpenAI key when one is
 * configured).
 */
export function lambdaOrchestrator(ports: FunctionPorts = {}): () => Promise<OrchestratorDeps> {
  let composed: Promise<OrchestratorDeps> | undefined;
  return () => {
    composed ??= Promise.all([keys, openAiKey(), telemetry]).then(
      ([{ cursorKey, tokenKey }, openAiApiKey, tracing]) =>
        composeOrchestrator(
          {
            stores: {
              ...createDynamoDbStores({
                client: dynamodb,
                tables: settings.tables,
                cursorKey,
                tokenKey,
                largePayloads,
              }),
              artifacts: createS3Artifacts({ client: s3, bucket: settings.bucket, cursorKey }),
            },
            tokens: taskTokens,
            executions,
            secrets: createSecretsManagerSource({ client: secretsManager, prefix: settings.secretPrefix }),
            http: createNodeHttpClient(),
            // Every secret the engine resolves reaches the log formatter's redaction.
            redactor: processSecrets,
            telemetry: tracing,
            metrics,
            ...(ports.mail ? { mail: ports.mail } : {}),
          },
          orchestratorSettings(
            openAiApiKey === undefined ? process.env : { ...process.env, OPENAI_API_KEY: openAiApiKey },
            { allowLoopback: false },
          ),
        ),
    );
    composed.catch(() => {
      composed = undefined; // a failed read of a secret (a throttle) is tried again on the next call
    });
    return composed;
  };
}

/**
 * The API's keys: SHA-256 hashes (and the principals they name) from their secret, read once per container. Without a configured
 * secret the API accepts no key at all: a deployed API is never open by accident.
 */
export async function apiKeys(): Promise<ApiKey[]> {
  if (!settings.apiKeysSecretArn) return [];
  const answer = await secretsManager.send(
    new GetSecretValueCommand({ SecretId: settings.apiKeysSecretArn }),
  );
  const parsed = apiKeysSecret.safeParse(JSON.parse(answer.SecretString ?? '{}'));
  if (!parsed.success) {
    throw new ConfigurationError(
      'The API keys secret must hold {"hashes": ["<sha256 hex>", ...]} and may name principals: {"principals": {"<sha256 hex>": "<principal>"}}',
    );
  }
  const { hashes, principals = {} } = parsed.data;
  return hashes.map((sha256) =>
    principals[sha256] ? { sha256, principal: principals[sha256] } : { sha256 },
  );
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const apiKeysSecret = z.object({
  hashes: z.array(sha256),
  principals: z.record(sha256, z.string().min(1).max(320)).optional(),
});
