/** The HTTP API (CONTRACT §3): API Gateway v2 with access logs, every route sent to the API function. */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DOCS_SCRIPT_MODULE } from '../../functions/api/docs-page.js';
import { LambdaEnvironment } from '../../functions/environment.js';
import { ANSWER_COPIES_PREFIX } from '../../shared/storage/s3/answer-copies.js';
import {
  bedrockModelOf,
  bindBedrockModel,
  bindBucket,
  bindKeysSecret,
  bindOpenAiSecret,
  bindSettings,
  bindStateMachine,
  bindTables,
  type DataTables,
  openAiSecretArnOf,
  RUN_OBJECTS,
} from './bindings.js';
import { FlowFunction } from './flow-function.js';
import { acknowledge, acknowledgeWildcardResource } from './nag.js';

export interface HttpApiProps {
  /** The API is named `<prefix>-api`. */
  prefix: string;
  tables: DataTables;
  bucket: s3.IBucket;
  keysSecret: secretsmanager.ISecret;
  /** The SHA-256 hashes of the keys the API accepts. */
  apiKeysSecret: secretsmanager.ISecret;
  /** Where workflows' `{{ secrets.NAME }}` live; the API only passes the prefix on, it reads none of them. */
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
  /** The machine the API starts runs on and wakes them in: an ARN built from its name (see bindStateMachine). */
  stateMachineArn: string;
}

export class HttpApi extends Construct {
  /** The API function: every route, and the key check in front of them. */
  public readonly handler: FlowFunction;
  public readonly api: apigw.HttpApi;
  public readonly accessLogs: logs.LogGroup;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    const { tables, bucket } = props;

    this.handler = new FlowFunction(this, 'Api', {
      entry: 'functions/api/handler.ts',
      description: 'Flowrunner HTTP API: workflows, runs, signals, callbacks, listeners',
      timeout: Duration.seconds(29),
      memorySize: 512,
      // /docs serves Redoc's script from here, not from a CDN (functions/api/docs-page.ts reads it).
      assets: [`node_modules/${DOCS_SCRIPT_MODULE}`],
    });
    // Every store; starts executions (runs) and wakes them (signals); reads artifacts and payloads;
    // keeps copies of answers too large for a Lambda (functions/api/large-answers.ts).
    bindTables(this.handler, tables, {
      workflows: 'readWrite',
      runs: 'readWrite',
      tokens: 'readWrite',
      listeners: 'readWrite',
    });
    bindBucket(this.handler, bucket, 'runObjectsAndAnswers');
    bindKeysSecret(this.handler, props.keysSecret);
    props.apiKeysSecret.grantRead(this.handler.function);
    this.handler.addEnvironment(LambdaEnvironment.apiKeysSecretArn, props.apiKeysSecret.secretArn);
    this.handler.addEnvironment(LambdaEnvironment.secretPrefix, props.secretPrefix);
    bindStateMachine(this.handler, props.stateMachineArn, ['startExecution', 'sendTaskSuccess']);
    bindSettings(this.handler, { allowPrivateNetwork: false });
    // The model's key, when configured: POST /v1/ai/infer calls the model from here.
    const openAiSecretArn = openAiSecretArnOf(this, props.openAiSecretArn);
    bindOpenAiSecret(this.handler, openAiSecretArn);
    // Or the Bedrock model it names.
    bindBedrockModel(this.handler, bedrockModelOf(this, props.bedrockModel, openAiSecretArn));

    this.accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `${props.prefix}-api`,
      description: 'Flowrunner HTTP API (CONTRACT §3); every route goes to the API function',
      defaultIntegration: new HttpLambdaIntegration('Api', this.handler.function),
    });
    // HttpApi's props give its default stage no access log settings: set them on the CloudFormation resource.
    const stage = this.api.defaultStage?.node.defaultChild as apigw.CfnStage;
    stage.accessLogSettings = {
      destinationArn: this.accessLogs.logGroupArn,
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
      this.api,
      'APIG4',
      'The API function authenticates every request itself with API keys (Authorization: Bearer or x-api-key), ' +
        'checked against SHA-256 hashes from the api-keys secret; with no hash configured it accepts nothing.',
    );
    for (const [table, why] of [
      [tables.runs, 'runs by status and by workflow (by_status, by_workflow_status)'],
      [tables.workflows, 'the list of workflows (by_kind)'],
      [tables.listeners, 'listeners by source (by_source, by_kind)'],
    ] as const) {
      acknowledgeWildcardResource(
        this.handler,
        `${table.tableArn}/index/*`,
        `Query on this table's own indexes for the API's lists: ${why}; not on other tables.`,
      );
    }
    acknowledgeWildcardResource(
      this.handler,
      bucket.arnForObjects(RUN_OBJECTS),
      'Objects under runs/ only: the API reads artifacts (runs/<run_id>/artifacts/) and restores claimed ' +
        'payloads (runs/<run_id>/payloads/) of any run a caller asks for.',
    );
    acknowledgeWildcardResource(
      this.handler,
      bucket.arnForObjects(`${ANSWER_COPIES_PREFIX}*`),
      'Objects under answers/ only: copies of answers too large for a Lambda, each under a random key ' +
        'made for one request and expired after a day by the bucket lifecycle.',
    );
  }
}
