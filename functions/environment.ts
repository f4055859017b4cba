/**
 * The settings of every Lambda function, parsed once at cold start with zod: a missing or bad
 * setting fails the function at once and says which. The CDK stack sets exactly these names.
 */
import { z } from 'zod';
import { ConfigurationError } from '../shared/errors.js';

export const LambdaEnvironment = {
  workflowsTable: 'FLOWRUNNER_WORKFLOWS_TABLE',
  runsTable: 'FLOWRUNNER_RUNS_TABLE',
  tokensTable: 'FLOWRUNNER_TOKENS_TABLE',
  listenersTable: 'FLOWRUNNER_LISTENERS_TABLE',
  bucket: 'FLOWRUNNER_BUCKET',
  stateMachineArn: 'FLOWRUNNER_STATE_MACHINE_ARN',
  /** A Secrets Manager secret holding `{"cursor_key": "...", "token_key": "..."}`. */
  keysSecretArn: 'FLOWRUNNER_KEYS_SECRET_ARN',
  secretPrefix: 'FLOWRUNNER_SECRET_PREFIX',
  /** The API function only: a secret holding `{"hashes": ["<sha256 hex of a key>", …]}`. */
  apiKeysSecretArn: 'FLOWRUNNER_API_KEYS_SECRET_ARN',
  allowPrivateNetwork: 'FLOWRUNNER_ALLOW_PRIVATE_NETWORK',
  /**
   * Functions that call a model, when the stack is given one: a secret holding the OpenAI API key
   * (plain text or `{"api_key": "..."}`); with it the provider defaults to openai (docs/ai.md).
   */
  openAiSecretArn: 'FLOWRUNNER_OPENAI_SECRET_ARN',
  /** `bedrock` when the stack is given a Bedrock model (read by orchestratorSettings, docs/ai.md). */
  aiProvider: 'AI_PROVIDER',
  /** The Bedrock model id, inference profile id or ARN. */
  bedrockModel: 'BEDROCK_MODEL',
  /**
   * The API function only, to keep schedule listeners in step (docs/deploy.md, "Triggers"): the
   * schedule group, the trigger function the schedules invoke, the role Scheduler assumes for it, and
   * the dead-letter queue of fires it could not deliver. All four or none.
   */
  scheduleGroup: 'FLOWRUNNER_SCHEDULE_GROUP',
  scheduleTargetArn: 'FLOWRUNNER_SCHEDULE_TARGET_ARN',
  schedulerRoleArn: 'FLOWRUNNER_SCHEDULER_ROLE_ARN',
  triggerDlqArn: 'FLOWRUNNER_TRIGGER_DLQ_ARN',
  /** The API function only: the project's bus, where `POST /v1/events` puts its entries. */
  eventBusName: 'FLOWRUNNER_EVENT_BUS_NAME',
  /** The verified SES identity notification mail is sent from (CONTRACT §8); unset: no mail. */
  mailFrom: 'FLOWRUNNER_MAIL_FROM',
  /** Where people open the console: personal links are `<this>/console/tasks/<token>`. */
  publicUrl: 'FLOWRUNNER_PUBLIC_URL',
  mockAiMode: 'MOCK_AI_MODE',
  mockAiSeed: 'MOCK_AI_SEED',
} as const;

const name = z.string().min(1);

const schema = z.object({
  [LambdaEnvironment.workflowsTable]: name,
  [LambdaEnvironment.runsTable]: name,
  [LambdaEnvironment.tokensTable]: name,
  [LambdaEnvironment.listenersTable]: name,
  [LambdaEnvironment.bucket]: name,
  [LambdaEnvironment.stateMachineArn]: z.string().startsWith('arn:'),
  [LambdaEnvironment.keysSecretArn]: z.string().startsWith('arn:'),
  [LambdaEnvironment.secretPrefix]: z.string().default('flowrunner/'),
  [LambdaEnvironment.allowPrivateNetwork]: z.enum(['true', 'false']).default('false'),
  [LambdaEnvironment.apiKeysSecretArn]: z.string().startsWith('arn:').optional(),
  [LambdaEnvironment.openAiSecretArn]: z.string().startsWith('arn:').optional(),
  [LambdaEnvironment.scheduleGroup]: z
    .string()
    .regex(/^[0-9a-zA-Z_.-]{1,64}$/)
    .optional(),
  [LambdaEnvironment.scheduleTargetArn]: z.string().startsWith('arn:').optional(),
  [LambdaEnvironment.schedulerRoleArn]: z.string().startsWith('arn:').optional(),
  [LambdaEnvironment.triggerDlqArn]: z.string().startsWith('arn:').optional(),
  [LambdaEnvironment.eventBusName]: name.optional(),
});

/** The settings that make the Schedules adapter: all of them or none. */
const SCHEDULE_SETTINGS = [
  LambdaEnvironment.scheduleGroup,
  LambdaEnvironment.scheduleTargetArn,
  LambdaEnvironment.schedulerRoleArn,
  LambdaEnvironment.triggerDlqArn,
] as const;

export interface FunctionSettings {
  tables: { workflows: string; runs: string; tokens: string; listeners: string };
  bucket: string;
  stateMachineArn: string;
  keysSecretArn: string;
  secretPrefix: string;
  allowPrivateNetwork: boolean;
  apiKeysSecretArn: string | undefined;
  openAiSecretArn: string | undefined;
  /** Where schedule listeners' schedules go, when this function manages them. */
  schedules:
    | { groupName: string; targetArn: string; roleArn: string; deadLetterQueueArn: string }
    | undefined;
  eventBusName: string | undefined;
}

export function functionSettings(env: NodeJS.ProcessEnv = process.env): FunctionSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(`The function's environment is not valid: ${problems}`);
  }
  const e = parsed.data;
  const missing = SCHEDULE_SETTINGS.filter((setting) => e[setting] === undefined);
  if (missing.length > 0 && missing.length < SCHEDULE_SETTINGS.length) {
    throw new ConfigurationError(
      `The function's environment is not valid: ${missing.join(', ')} missing (the schedule settings go together)`,
    );
  }
  return {
    tables: {
      workflows: e[LambdaEnvironment.workflowsTable],
      runs: e[LambdaEnvironment.runsTable],
      tokens: e[LambdaEnvironment.tokensTable],
      listeners: e[LambdaEnvironment.listenersTable],
    },
    bucket: e[LambdaEnvironment.bucket],
    stateMachineArn: e[LambdaEnvironment.stateMachineArn],
    keysSecretArn: e[LambdaEnvironment.keysSecretArn],
    secretPrefix: e[LambdaEnvironment.secretPrefix],
    allowPrivateNetwork: e[LambdaEnvironment.allowPrivateNetwork] === 'true',
    apiKeysSecretArn: e[LambdaEnvironment.apiKeysSecretArn],
    openAiSecretArn: e[LambdaEnvironment.openAiSecretArn],
    schedules:
      missing.length === 0
        ? {
            groupName: e[LambdaEnvironment.scheduleGroup]!,
            targetArn: e[LambdaEnvironment.scheduleTargetArn]!,
            roleArn: e[LambdaEnvironment.schedulerRoleArn]!,
            deadLetterQueueArn: e[LambdaEnvironment.triggerDlqArn]!,
          }
        : undefined,
    eventBusName: e[LambdaEnvironment.eventBusName],
  };
}
