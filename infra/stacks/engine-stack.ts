/**
 * The stateless half: the Lambda functions, the state machine that carries every run, and their
 * alarms. It can be deleted and deployed again at will; the runs live in the data stack.
 */
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { LambdaEnvironment } from '../../functions/environment.js';
import { type TableNames, tableDefinitions } from '../../shared/storage/dynamodb/tables.js';
import {
  bindBucket,
  bindKeysSecret,
  bindSettings,
  bindStateMachine,
  bindTable,
  bindWorkflowSecrets,
  RUN_OBJECTS,
  type TableAccess,
  workflowSecretsArn,
} from '../constructs/bindings.js';
import { FlowFunction } from '../constructs/flow-function.js';
import { acknowledge, acknowledgeWildcardResource } from '../constructs/nag.js';
import { type StateMachineOptions, stateMachineDefinition } from '../state-machine.js';

export interface EngineStackProps extends StackProps {
  prefix: string;
  /**
   * The tables and the bucket are named by name, not by reference: their names are fixed by the
   * prefix, so the data stack exports nothing for them and stays free to change.
   */
  tableNames: TableNames;
  bucketName: string;
  keysSecret: secretsmanager.ISecret;
  apiKeysSecret: secretsmanager.ISecret;
  /** Where workflows' `{{ secrets.NAME }}` live in Secrets Manager; default `flowrunner/`. */
  secretPrefix?: string;
}

/** Advance's Lambda timeout; the Task's TimeoutSeconds is a little longer so the function's own timeout fires first. */
export const ADVANCE_TIMEOUT = Duration.minutes(5);
const ADVANCE_TASK_TIMEOUT_S = ADVANCE_TIMEOUT.toSeconds() + 30;

export class EngineStack extends Stack {
  public readonly advance: FlowFunction;
  public readonly awaitSignal: FlowFunction;
  public readonly api: FlowFunction;
  public readonly httpApi: apigw.HttpApi;
  public readonly stateMachine: sfn.StateMachine;
  /** Built from the machine's fixed name, so the functions can name it without depending on it. */
  public readonly stateMachineArn: string;
  public readonly stateMachineName: string;
  /** The options given to `stateMachineDefinition`: the tests rebuild the definition from them. */
  public readonly definitionOptions: StateMachineOptions;
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: EngineStackProps) {
    super(scope, id, props);
    const secretPrefix = props.secretPrefix ?? 'flowrunner/';
    const tables = {} as Record<keyof TableNames, dynamodb.ITable>;
    for (const { role, create } of tableDefinitions(props.tableNames)) {
      tables[role] = dynamodb.Table.fromTableAttributes(this, `${role}-table`, {
        tableName: create.TableName,
        // Named so that Query grants cover the indexes (`table/<name>/index/*`).
        globalIndexes: (create.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName!),
      });
    }
    const bucket = s3.Bucket.fromBucketName(this, 'data-bucket', props.bucketName);

    this.stateMachineName = `${props.prefix}-runs`;
    this.stateMachineArn = this.formatArn({
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

    this.api = new FlowFunction(this, 'Api', {
      entry: 'functions/api/handler.ts',
      description: 'Flowrunner HTTP API: workflows, runs, signals, callbacks, listeners',
      timeout: Duration.seconds(29),
      memorySize: 512,
    });

    const bindTables = (fn: FlowFunction, access: Record<keyof TableNames, TableAccess>) => {
      bindTable(fn, LambdaEnvironment.workflowsTable, tables.workflows, access.workflows);
      bindTable(fn, LambdaEnvironment.runsTable, tables.runs, access.runs);
      bindTable(fn, LambdaEnvironment.tokensTable, tables.tokens, access.tokens);
      bindTable(fn, LambdaEnvironment.listenersTable, tables.listeners, access.listeners);
    };

    // Advance: the run (checkpoint, journal, inbox), its workflow version, callback tokens and
    // idempotency keys; payloads and artifacts; workflow secrets; handoff and child runs; child completion.
    bindTables(this.advance, {
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

    // AwaitSignal: stores the token on the run and completes it at once if a signal already waits.
    // The keys secret: functions/lambda-wiring.ts reads it at cold start in every function.
    bindTables(this.awaitSignal, { workflows: 'none', runs: 'readWrite', tokens: 'none', listeners: 'none' });
    bindBucket(this.awaitSignal, bucket, 'none');
    bindKeysSecret(this.awaitSignal, props.keysSecret);
    this.awaitSignal.addEnvironment(LambdaEnvironment.secretPrefix, secretPrefix);
    bindStateMachine(this.awaitSignal, this.stateMachineArn, ['sendTaskSuccess']);
    bindSettings(this.awaitSignal, { allowPrivateNetwork: false });

    // API: every store; starts executions (runs) and wakes them (signals); reads artifacts and payloads.
    bindTables(this.api, {
      workflows: 'readWrite',
      runs: 'readWrite',
      tokens: 'readWrite',
      listeners: 'readWrite',
    });
    bindBucket(this.api, bucket, 'runObjects');
    bindKeysSecret(this.api, props.keysSecret);
    props.apiKeysSecret.grantRead(this.api.function);
    this.api.addEnvironment(LambdaEnvironment.apiKeysSecretArn, props.apiKeysSecret.secretArn);
    this.api.addEnvironment(LambdaEnvironment.secretPrefix, secretPrefix);
    bindStateMachine(this.api, this.stateMachineArn, ['startExecution', 'sendTaskSuccess']);
    bindSettings(this.api, { allowPrivateNetwork: false });

    const apiLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `${props.prefix}-api`,
      description: 'Flowrunner HTTP API (CONTRACT §3); every route goes to the API function',
      defaultIntegration: new HttpLambdaIntegration('Api', this.api.function),
    });
    const stage = this.httpApi.defaultStage?.node.defaultChild as apigw.CfnStage;
    stage.accessLogSettings = {
      destinationArn: apiLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        ip: '$context.identity.sourceIp',
        method: '$context.httpMethod',
        path: '$context.path',
        status: '$context.status',
        latency: '$context.responseLatency',
      }),
    };
    acknowledge(
      this.httpApi,
      'APIG4',
      'The API function authenticates every request itself with API keys (Authorization: Bearer or x-api-key), ' +
        'checked against SHA-256 hashes from the api-keys secret; with no hash configured it accepts nothing.',
    );
    new CfnOutput(this, 'ApiUrl', {
      value: this.httpApi.apiEndpoint,
      description: 'The Flowrunner HTTP API',
    });

    this.definitionOptions = {
      advanceFunctionArn: this.advance.function.functionArn,
      awaitSignalFunctionArn: this.awaitSignal.function.functionArn,
      stateMachineArn: this.stateMachineArn,
      advanceTimeoutS: ADVANCE_TASK_TIMEOUT_S,
    };

    const machineLogs = new logs.LogGroup(this, 'StateMachineLogs', {
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
      logs: { destination: machineLogs, level: sfn.LogLevel.ALL, includeExecutionData: true },
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
    for (const fn of [this.advance, this.awaitSignal, this.api]) {
      acknowledge(
        fn,
        'IAM5[Resource::*]',
        'xray:PutTraceSegments and xray:PutTelemetryRecords for active tracing: X-Ray accepts no resource but "*".',
      );
      acknowledge(
        fn,
        'L1',
        'Node 22 on purpose: the handlers are bundled for node22 (esbuild target) and typed against @types/node 22; ' +
          'moving to Node 24 is a tested change of its own, not a side effect of a CDK upgrade.',
      );
    }
    for (const [table, why] of [
      [tables.runs, 'runs by status and by workflow (by_status, by_workflow_status)'],
      [tables.workflows, 'the list of workflows (by_kind)'],
      [tables.listeners, 'listeners by source (by_source, by_kind)'],
    ] as const) {
      acknowledgeWildcardResource(
        this.api,
        `${table.tableArn}/index/*`,
        `Query on this table's own indexes for the API's lists: ${why}; not on other tables.`,
      );
    }
    acknowledgeWildcardResource(
      this.api,
      bucket.arnForObjects(RUN_OBJECTS),
      'Objects under runs/ only: the API reads artifacts (runs/<run_id>/artifacts/) and restores claimed ' +
        'payloads (runs/<run_id>/payloads/) of any run a caller asks for.',
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
      workflowSecretsArn(this, secretPrefix),
      `GetSecretValue on the workflow secrets under ${secretPrefix} ({{ secrets.NAME }}): users add them after ` +
        'deployment, and Secrets Manager appends a random suffix to every ARN.',
    );

    this.addAlarms();

    new CfnOutput(this, 'StateMachineArn', {
      value: this.stateMachine.stateMachineArn,
      description: 'The state machine that carries every run',
    });
  }

  private addAlarms(): void {
    const period = Duration.minutes(5);
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
      this.alarms.push(
        new cloudwatch.Alarm(this, id, {
          metric,
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: description,
        }),
      );
    };
    // A failed run ends its execution in success (RunFailed): a failed execution is infrastructure trouble.
    alarm(
      'ExecutionsFailedAlarm',
      this.stateMachine.metricFailed({ period, statistic: 'Sum' }),
      'Executions of the Flowrunner state machine failed',
    );
    alarm(
      'ExecutionsTimedOutAlarm',
      this.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
      'Executions of the Flowrunner state machine timed out',
    );
    for (const [name, fn] of [
      ['Advance', this.advance],
      ['AwaitSignal', this.awaitSignal],
    ] as const) {
      alarm(
        `${name}ErrorsAlarm`,
        fn.function.metricErrors({ period, statistic: 'Sum' }),
        `The ${name} function failed`,
      );
      alarm(
        `${name}ThrottlesAlarm`,
        fn.function.metricThrottles({ period, statistic: 'Sum' }),
        `The ${name} function was throttled`,
      );
    }
  }
}
