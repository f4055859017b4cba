/**
 * The wiring of the Lambda runtime: the only place that chooses the AWS adapters. Clients are made
 * once per container, at module scope; settings are parsed at cold start (functions/environment.ts).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { systemClock } from '../shared/adapters/clock.js';
import { randomIds } from '../shared/adapters/ids.js';
import { createMockAiProvider, mockAiOptionsFromEnv } from '../shared/ai/mock-provider.js';
import { createMemoryPromptTemplates } from '../shared/ai/prompt-templates.js';
import { ConfigurationError } from '../shared/errors.js';
import { createNodeHttpClient } from '../shared/http/node-http-client.js';
import { orchestratedChildren } from '../shared/orchestration/children.js';
import type { Executions, Stores, TaskTokens } from '../shared/ports/index.js';
import { createSecretsManagerSource } from '../shared/secrets/secrets-manager.js';
import { createStepRegistry } from '../shared/steps/registry.js';
import { createClaimCheck } from '../shared/storage/claim-check.js';
import { createDynamoDbClient } from '../shared/storage/dynamodb/client.js';
import { createDynamoDbStores } from '../shared/storage/dynamodb/stores.js';
import { createS3Artifacts } from '../shared/storage/s3/artifacts.js';
import { createS3PayloadBlobs } from '../shared/storage/s3/payload-blobs.js';
import type { ApiOrchestratorDeps } from './api/deps.js';
import { functionSettings } from './environment.js';

const settings = functionSettings();
const dynamodb = createDynamoDbClient();
const s3 = new S3Client({});
const secretsManager = new SecretsManagerClient({});
const sfn = new SFNClient({});

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

const largePayloads = createClaimCheck({
  blobs: createS3PayloadBlobs({ client: s3, bucket: settings.bucket }),
});
const registry = createStepRegistry();
const http = createNodeHttpClient();

let base: Omit<ApiOrchestratorDeps, 'budgetMs'> | undefined;

/** The orchestrator's dependencies for one invocation with the given time budget. */
export async function orchestratorDeps(budgetMs: number): Promise<ApiOrchestratorDeps> {
  if (!base) {
    const { cursorKey, tokenKey } = await keys;
    const stores: Stores = {
      ...createDynamoDbStores({
        client: dynamodb,
        tables: settings.tables,
        cursorKey,
        tokenKey,
        largePayloads,
      }),
      artifacts: createS3Artifacts({ client: s3, bucket: settings.bucket, cursorKey }),
    };
    const deps: Omit<ApiOrchestratorDeps, 'budgetMs'> = {
      stores,
      clock: systemClock,
      ids: randomIds,
      tokens: taskTokens,
      executions,
      executor: {
        registry,
        secrets: createSecretsManagerSource({ client: secretsManager, prefix: settings.secretPrefix }),
        steps: {
          http,
          // The OpenAI provider comes with its own issue; until then the deterministic mock answers.
          ai: createMockAiProvider(mockAiOptionsFromEnv(process.env)),
          children: orchestratedChildren(() => ({ ...deps, budgetMs })),
          templates: createMemoryPromptTemplates([]),
          clock: systemClock,
          ids: randomIds,
          allowPrivateNetwork: settings.allowPrivateNetwork,
        },
      },
    };
    base = deps;
  }
  return { ...base, budgetMs };
}

/**
 * The API's keys: SHA-256 hashes from their secret, read once per container. Without a configured
 * secret the API accepts no key at all: a deployed API is never open by accident.
 */
export async function apiKeyHashes(): Promise<string[]> {
  if (!settings.apiKeysSecretArn) return [];
  const answer = await secretsManager.send(
    new GetSecretValueCommand({ SecretId: settings.apiKeysSecretArn }),
  );
  const parsed = JSON.parse(answer.SecretString ?? '{}') as { hashes?: unknown };
  if (
    !Array.isArray(parsed.hashes) ||
    !parsed.hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))
  ) {
    throw new ConfigurationError('The API keys secret must hold {"hashes": ["<sha256 hex>", ...]}');
  }
  return parsed.hashes as string[];
}
