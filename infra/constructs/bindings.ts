/**
 * The `bind…` helpers: each one sets the environment variable a function's settings read
 * (functions/environment.ts) and grants exactly the calls the adapters make with it, in one call,
 * so a name can never be set without its permission, nor a permission given without its name.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { LambdaEnvironment } from '../../functions/environment.js';
import type { TableNames } from '../../shared/storage/dynamodb/tables.js';
import { ANSWER_COPIES_PREFIX } from '../../shared/storage/s3/answer-copies.js';
import type { FlowFunction } from './flow-function.js';
import { acknowledgeWildcardResource } from './nag.js';

/**
 * `none`: the function only needs the name (its settings require every table) and never calls it.
 * The actions are the ones shared/storage/dynamodb sends; add one here when an adapter starts sending another.
 */
export type TableAccess = 'none' | 'read' | 'readWrite';

const TABLE_ACTIONS: Record<TableAccess, string[]> = {
  none: [],
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  readWrite: [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
  ],
};

type TableEnvironment =
  | typeof LambdaEnvironment.workflowsTable
  | typeof LambdaEnvironment.runsTable
  | typeof LambdaEnvironment.tokensTable
  | typeof LambdaEnvironment.listenersTable;

/** The data stack's four tables, by the role the settings give them. */
export type DataTables = Record<keyof TableNames, dynamodb.ITable>;

/** Every table's name (a function's settings require all four) and `access` to each. */
export function bindTables(
  fn: FlowFunction,
  tables: DataTables,
  access: Record<keyof TableNames, TableAccess>,
): void {
  bindTable(fn, LambdaEnvironment.workflowsTable, tables.workflows, access.workflows);
  bindTable(fn, LambdaEnvironment.runsTable, tables.runs, access.runs);
  bindTable(fn, LambdaEnvironment.tokensTable, tables.tokens, access.tokens);
  bindTable(fn, LambdaEnvironment.listenersTable, tables.listeners, access.listeners);
}

/** The table's name in `env`; `table.grant` covers the table and its indexes (Query on a GSI). */
export function bindTable(
  fn: FlowFunction,
  env: TableEnvironment,
  table: dynamodb.ITable,
  access: TableAccess,
): void {
  fn.addEnvironment(env, table.tableName);
  const actions = TABLE_ACTIONS[access];
  if (actions.length > 0) table.grant(fn.function, ...actions);
}

export type BucketAccess = 'none' | 'runObjects' | 'runObjectsAndAnswers';

/**
 * `runObjects`: read, write and delete the objects under `runs/` (payloads and artifacts of the
 * runs), plus ListBucket on the bucket: without it S3 answers a HEAD of a missing key with 403, and
 * the adapters tell "not there" (404) from "denied" (403). `runObjectsAndAnswers` (the API): also
 * write the copies of answers too large for a Lambda under `answers/`, and read them (a presigned
 * URL reads with its signer's rights).
 */
export function bindBucket(fn: FlowFunction, bucket: s3.IBucket, access: BucketAccess): void {
  fn.addEnvironment(LambdaEnvironment.bucket, bucket.bucketName);
  if (access === 'none') return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [bucket.arnForObjects(RUN_OBJECTS)],
    }),
  );
  fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  if (access !== 'runObjectsAndAnswers') return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: [bucket.arnForObjects(`${ANSWER_COPIES_PREFIX}*`)],
    }),
  );
}

/** The keys under which runs keep their payloads (`runs/<id>/payloads/`) and artifacts (`runs/<id>/artifacts/`). */
export const RUN_OBJECTS = 'runs/*';

/** The secret with `{"cursor_key", "token_key"}`: GetSecretValue only (no DescribeSecret, no KMS: AWS managed key). */
export function bindKeysSecret(fn: FlowFunction, secret: secretsmanager.ISecret): void {
  fn.addEnvironment(LambdaEnvironment.keysSecretArn, secret.secretArn);
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
  );
}

/** The context value that names the OpenAI key's secret when no construct prop does (`cdk deploy -c …`). */
export const OPENAI_SECRET_CONTEXT = 'flowrunner:openai-secret-arn';

/** A secret's complete ARN: Secrets Manager's six-character suffix included, so the grant needs no wildcard. */
const COMPLETE_SECRET_ARN = /^arn:[\w-]+:secretsmanager:[\w-]+:\d{12}:secret:[\w/+=.@-]+-[A-Za-z0-9]{6}$/;

/**
 * The OpenAI key's secret, if the stack is given one: the construct's prop, else the context value
 * `flowrunner:openai-secret-arn`. Either must be the secret's complete ARN; anything else stops synth.
 */
export function openAiSecretArnOf(scope: Construct, prop: string | undefined): string | undefined {
  const value = prop ?? (scope.node.tryGetContext(OPENAI_SECRET_CONTEXT) as unknown);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !COMPLETE_SECRET_ARN.test(value)) {
    throw new Error(
      `The OpenAI secret (${OPENAI_SECRET_CONTEXT}) must be a secret's complete ARN ` +
        `(arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>), got '${String(value)}'`,
    );
  }
  return value;
}

/**
 * The secret holding the OpenAI API key (functions/lambda-wiring.ts reads it once per container):
 * GetSecretValue on that one ARN only (no DescribeSecret; an AWS managed key needs no KMS grant).
 */
export function bindOpenAiSecret(fn: FlowFunction, secretArn: string | undefined): void {
  if (secretArn === undefined) return;
  fn.addEnvironment(LambdaEnvironment.openAiSecretArn, secretArn);
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
  );
}

/** The context value that names the Bedrock model when no construct prop does (`cdk deploy -c …`). */
export const BEDROCK_MODEL_CONTEXT = 'flowrunner:bedrock-model';

/** A model id (`anthropic.claude-…-v1:0`), a system inference profile id (`eu.anthropic.…`), or a Bedrock ARN. */
const BEDROCK_MODEL_ID = /^[a-z0-9-]+\.[A-Za-z0-9._:-]+$/;
const BEDROCK_ARN =
  /^arn:[\w-]+:bedrock:[\w-]*:(\d{12})?:(foundation-model|inference-profile|application-inference-profile|provisioned-model)\/[A-Za-z0-9._:-]+$/;
/** The geography prefixes of system-defined (cross-Region) inference profile ids. */
const PROFILE_PREFIX = /^(us|us-gov|eu|apac|jp|au|ca|global)\./;

/**
 * The Bedrock model `ai_generate` and `POST /v1/ai/infer` use, if the stack is given one: the
 * construct's prop, else the context value `flowrunner:bedrock-model`. A model id, an inference
 * profile id or a Bedrock ARN; anything else stops synth. One provider per deployment: with the
 * OpenAI secret as well, synth stops too.
 */
export function bedrockModelOf(
  scope: Construct,
  prop: string | undefined,
  openAiSecretArn: string | undefined,
): string | undefined {
  const value = prop ?? (scope.node.tryGetContext(BEDROCK_MODEL_CONTEXT) as unknown);
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !(BEDROCK_MODEL_ID.test(value) || BEDROCK_ARN.test(value))) {
    throw new Error(
      `The Bedrock model (${BEDROCK_MODEL_CONTEXT}) must be a model id, an inference profile id or a Bedrock ARN, got '${String(value)}'`,
    );
  }
  if (openAiSecretArn !== undefined) {
    throw new Error(`Give either ${BEDROCK_MODEL_CONTEXT} or ${OPENAI_SECRET_CONTEXT}, not both`);
  }
  return value;
}

/**
 * What `bedrock:InvokeModel` (the action Converse needs) must be allowed on for `model`:
 * - a foundation model id: that model in the function's Region;
 * - an inference profile (id or ARN): the profile, and the foundation model in whichever Region the
 *   profile routes to — only when called through that profile (`bedrock:InferenceProfileArn`);
 * - any other ARN (a foundation model's, a provisioned model's): that ARN.
 */
export function bedrockModelGrants(scope: Construct, model: string): iam.PolicyStatement[] {
  const stack = Stack.of(scope);
  const action = ['bedrock:InvokeModel'];
  const foundationModel = (id: string, region = stack.region) =>
    `arn:${stack.partition}:bedrock:${region}::foundation-model/${id}`;
  const arn = BEDROCK_ARN.exec(model);
  const kind = arn?.[2];
  if (arn && kind !== 'inference-profile' && kind !== 'application-inference-profile') {
    return [new iam.PolicyStatement({ actions: action, resources: [model] })];
  }
  const profileId = arn ? model.slice(model.lastIndexOf('/') + 1) : model;
  const isProfile = arn !== null || PROFILE_PREFIX.test(model);
  if (!isProfile) return [new iam.PolicyStatement({ actions: action, resources: [foundationModel(model)] })];
  const profileArn =
    arn !== null
      ? model
      : stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: profileId });
  // A system profile names its model after the prefix; an application profile's model is not in its ARN.
  const routedModel = kind === 'application-inference-profile' ? '*' : profileId.replace(PROFILE_PREFIX, '');
  return [
    new iam.PolicyStatement({ actions: action, resources: [profileArn] }),
    new iam.PolicyStatement({
      actions: action,
      resources: [foundationModel(routedModel, '*')],
      conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profileArn } },
    }),
  ];
}

/**
 * The Bedrock model, when configured: `AI_PROVIDER=bedrock` and `BEDROCK_MODEL` in the function's
 * environment (the Region is the function's own), and `bedrock:InvokeModel` on that model only.
 */
export function bindBedrockModel(fn: FlowFunction, model: string | undefined): void {
  if (model === undefined) return;
  fn.addEnvironment(LambdaEnvironment.aiProvider, 'bedrock');
  fn.addEnvironment(LambdaEnvironment.bedrockModel, model);
  for (const statement of bedrockModelGrants(fn, model)) {
    fn.addToRolePolicy(statement);
    for (const resource of statement.resources.filter((r) => r.includes('*'))) {
      acknowledgeWildcardResource(
        fn,
        resource,
        'A cross-Region inference profile routes to its model in any Region of its geography; the grant holds only through that one profile (bedrock:InferenceProfileArn)',
      );
    }
  }
}

/**
 * The secrets workflows name as `{{ secrets.NAME }}`, stored as `<prefix>NAME`. Names cannot hold
 * `/` (shared/secrets/names.ts), so nothing outside the prefix is reachable through a workflow.
 */
export function bindWorkflowSecrets(fn: FlowFunction, prefix: string): void {
  fn.addEnvironment(LambdaEnvironment.secretPrefix, prefix);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['secretsmanager:GetSecretValue'],
      resources: [workflowSecretsArn(Stack.of(fn), prefix)],
    }),
  );
}

/** `arn:…:secret:<prefix>*`: Secrets Manager appends a random suffix to every secret's ARN. */
export function workflowSecretsArn(stack: Stack, prefix: string): string {
  return stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${prefix}*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** What a function does with the state machine: start executions (handoff, child runs) and complete task tokens. */
export type MachineAccess = 'startExecution' | 'sendTaskSuccess';

const MACHINE_ACTIONS: Record<MachineAccess, string> = {
  startExecution: 'states:StartExecution',
  sendTaskSuccess: 'states:SendTaskSuccess',
};

/**
 * The machine's ARN is passed as a string built with `formatArn` from its fixed name, not taken from
 * the machine: the machine names the functions, so a reference back would be a cycle.
 */
export function bindStateMachine(fn: FlowFunction, stateMachineArn: string, access: MachineAccess[]): void {
  fn.addEnvironment(LambdaEnvironment.stateMachineArn, stateMachineArn);
  if (access.length === 0) return;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: access.map((a) => MACHINE_ACTIONS[a]),
      resources: [stateMachineArn],
    }),
  );
}

/** Settings that are not resources: private networks stay refused on AWS. */
export function bindSettings(fn: FlowFunction, settings: { allowPrivateNetwork: boolean }): void {
  fn.addEnvironment(LambdaEnvironment.allowPrivateNetwork, String(settings.allowPrivateNetwork));
}
