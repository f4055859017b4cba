/** The state machine that carries every run, the Advance and AwaitSignal functions it calls, and what each may do. */
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { LambdaEnvironment } from '../../functions/environment.js';
import { type StateMachineOptions, stateMachineDefinition } from '../state-machine.js';
import {
  bedrockModelOf,
  bindBedrockModel,
  bindBucket,
  bindKeysSecret,
  bindOpenAiSecret,
  bindSettings,
  bindStateMachine,
  bindTables,
  bindWorkflowSecrets,
  type DataTables,
  openAiSecretArnOf,
  RUN_OBJECTS,
  workflowSecretsArn,
} from './bindings.js';
import { FlowFunction } from './flow-function.js';
import { acknowledge, acknowledgeWildcardResource } from './nag.js';

export interface RunStateMachineProps {
  /** The machine is named `<prefix>-runs`. */
  prefix: string;
  tables: DataTables;
  bucket: s3.IBucket;
  keysSecret: secretsmanager.ISecret;
  /** Where workflows' `{{ secrets.NAME }}` live in Secrets Manager. */
  secretPrefix: string;
  /**
   * The complete ARN of a secret holding the OpenAI API key; default the context value
   * `flowrunner:openai-secret-arn`. Without either the functions answer with the mock (docs/ai.md).
   */
  openAiSecretArn?: string;
  /**
   * The Bedrock model (id, inference profile id or ARN) to answer with; default the context value
   * `flowrunner:bedrock-model`. Not together with an OpenAI secret.
   */
  bedrockModel?: string;
}

/** Advance's Lambda timeout; the Task's TimeoutSeconds is a little longer so the function's own timeout fires first. */
export const ADVANCE_TIMEOUT = Duration.minutes(5);
const ADVANCE_TASK_TIMEOUT_S = ADVANCE_TIMEOUT.toSeconds() + 30;

export class RunStateMachine extends Construct {
  public readonly advance: FlowFunction;
  public readonly awaitSignal: FlowFunction;
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;
  /** Built from the machine's fixed name, so the functions can name it without depending on it. */
  public readonly stateMachineArn: string;
  public readonly stateMachineName: string;
  /** The options given to `stateMachineDefinition`: the tests rebuild the definition from them. */
  public readonly definitionOptions: StateMachineOptions;

  constructor(scope: Construct, id: string, props: RunStateMachineProps) {
    super(scope, id);
    const { tables, bucket, secretPrefix } = props;

    this.stateMachineName = `${props.prefix}-runs`;
    this.stateMachineArn = Stack.of(this).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });

    this.advance = new FlowFunction(this, 'Advance', {
      entry: 'functions/advance.ts',
      description: 'Flowrunner Advance: runs the ready steps of a run from its checkpoint',
      timeout: ADVANCE_TIMEOUT,
      memorySize: 1024,
    });
    this.awaitSignal = new FlowFunction(this, 'AwaitSignal', {
      entry: 'functions/await-signal.ts',
      description: 'Flowrunner AwaitSignal: parks a run on its task token',
      timeout: Duration.seconds(30),
      memorySize: 256,
    });

    // Advance: the run (checkpoint, journal, inbox), its workflow version, callback tokens and
    // idempotency keys; payloads and artifacts; workflow secrets; handoff and child runs; child completion.
    bindTables(this.advance, tables, {
      workflows: 'read',
      runs: 'readWrite',
      tokens: 'readWrite',
      listeners: 'none',
    });
    bindBucket(this.advance, bucket, 'runObjects');
    bindKeysSecret(this.advance, props.keysSecret);
    bindWorkflowSecrets(this.advance, secretPrefix);
    bindStateMachine(this.advance, this.stateMachineArn, ['startExecution', 'sendTaskSuccess']);
    bindSettings(this.advance, { allowPrivateNetwork: false });
    // The model's key, when configured: ai_generate steps call the model from here.
    const openAiSecretArn = openAiSecretArnOf(this, props.openAiSecretArn);
    bindOpenAiSecret(this.advance, openAiSecretArn);
    // Or the Bedrock model it names.
    bindBedrockModel(this.advance, bedrockModelOf(this, props.bedrockModel, openAiSecretArn));

    // AwaitSignal: stores the token on the run and completes it at once if a signal already waits.
    // The keys secret: functions/lambda-wiring.ts reads it at cold start in every function.
    bindTables(this.awaitSignal, tables, {
      workflows: 'none',
      runs: 'readWrite',
      tokens: 'none',
      listeners: 'none',
    });
    bindBucket(this.awaitSignal, bucket, 'none');
    bindKeysSecret(this.awaitSignal, props.keysSecret);
    this.awaitSignal.addEnvironment(LambdaEnvironment.secretPrefix, secretPrefix);
    bindStateMachine(this.awaitSignal, this.stateMachineArn, ['sendTaskSuccess']);
    bindSettings(this.awaitSignal, { allowPrivateNetwork: false });

    this.definitionOptions = {
      advanceFunctionArn: this.advance.function.functionArn,
      awaitSignalFunctionArn: this.awaitSignal.function.functionArn,
      stateMachineArn: this.stateMachineArn,
      advanceTimeoutS: ADVANCE_TASK_TIMEOUT_S,
    };
    this.logGroup = new logs.LogGroup(this, 'StateMachineLogs', {
      // The /aws/vendedlogs/ prefix keeps CloudWatch's resource policy from growing with every log group.
      logGroupName: `/aws/vendedlogs/states/${this.stateMachineName}`,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(
        JSON.stringify(stateMachineDefinition(this.definitionOptions)),
      ),
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The definition names the functions by their unqualified ARNs: no `:*` for versions and aliases.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.advance.function.functionArn, this.awaitSignal.function.functionArn],
      }),
    );
    // Handoff: a fresh execution of this same machine for the run's next generation.
    this.stateMachine.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [this.stateMachineArn] }),
    );

    acknowledge(
      this.stateMachine,
      'IAM5[Resource::*]',
      'Only the log delivery (logs:*LogDelivery*, DescribeLogGroups, resource policies) and X-Ray actions ' +
        'that CDK adds for logging and tracing: those APIs accept no resource but "*".',
    );
    acknowledgeWildcardResource(
      this.advance,
      `${tables.runs.tableArn}/index/*`,
      "Query on the runs table's own indexes (by_status, by_workflow_status), not on other tables.",
    );
    acknowledgeWildcardResource(
      this.advance,
      `${tables.workflows.tableArn}/index/*`,
      "Query on the workflows table's own index (by_kind), not on other tables.",
    );
    acknowledgeWildcardResource(
      this.awaitSignal,
      `${tables.runs.tableArn}/index/*`,
      "The runs table's own indexes, granted with the table (DynamoDB grants cover a table's indexes).",
    );
    acknowledgeWildcardResource(
      this.advance,
      bucket.arnForObjects(RUN_OBJECTS),
      'Objects under runs/ only: runs/<run_id>/payloads/ (claimed large payloads) and runs/<run_id>/artifacts/; ' +
        'run ids are made at run time, so the key cannot be narrower.',
    );
    acknowledgeWildcardResource(
      this.advance,
      workflowSecretsArn(Stack.of(this), secretPrefix),
      `GetSecretValue on the workflow secrets under ${secretPrefix} ({{ secrets.NAME }}): users add them after ` +
        'deployment, and Secrets Manager appends a random suffix to every ARN.',
    );
  }
}
