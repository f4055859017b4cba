// The CDK app as deployed: what each function may do, how things are wired, what is kept, and that cdk-nag passes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, CfnElement, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { LambdaEnvironment } from '../../functions/environment.js';
import { logicalIdWithout } from '../../infra/constructs/logical-ids.js';
import type { DataStack } from '../../infra/stacks/data-stack.js';
import type { EngineStack } from '../../infra/stacks/engine-stack.js';
import { addFlowrunner } from '../../infra/stacks/flowrunner.js';
import { stateMachineDefinition } from '../../infra/state-machine.js';
import { defaultTableNames, TTL_ATTRIBUTE, tableDefinitions } from '../../shared/storage/dynamodb/tables.js';
import { appForTests, render } from '../support/cdk.js';

type Json = Record<string, unknown>;

/** Every action the policies attached to a role allow, on any resource. */
function actionsOf(template: Template, roleLogicalId: string): string[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap((policy) =>
    (
      policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } }
    ).Properties.PolicyDocument.Statement.flatMap((statement) => [statement.Action].flat()),
  );
}

/** The statements of a role's policies that allow `action`, with their resources rendered as text. */
function resourcesFor(template: Template, roleLogicalId: string, action: string): string[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: Match.arrayWith([{ Ref: roleLogicalId }]) },
  });
  return Object.values(policies).flatMap((policy) =>
    (
      policy as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }
    ).Properties.PolicyDocument.Statement.filter((statement) =>
      [statement.Action].flat().includes(action),
    ).flatMap((statement) => [statement.Resource].flat().map(render)),
  );
}

const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as never);

describe('CDK app', () => {
  let app: App;
  let data: DataStack;
  let engine: EngineStack;
  let dataTemplate: Template;
  let engineTemplate: Template;
  let advanceRole: string;
  let awaitSignalRole: string;
  const names = defaultTableNames('flowrunner');
  const machineArn = `\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:flowrunner-runs`;

  beforeAll(() => {
    app = appForTests();
    ({ data, engine } = addFlowrunner(app));
    // cdk-nag is a validation plugin: an unacknowledged finding makes synth throw.
    app.synth();
    dataTemplate = Template.fromStack(data);
    engineTemplate = Template.fromStack(engine);
    advanceRole = logicalId(engine, engine.runs.advance.role);
    awaitSignalRole = logicalId(engine, engine.runs.awaitSignal.role);
  });

  describe('cdk-nag', () => {
    it('finds nothing unacknowledged, and every acknowledgement carries a reason', () => {
      const report = JSON.parse(readFileSync(join(app.outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: {
          pluginName: string;
          conclusion: string;
          violations: unknown[];
          suppressedViolations?: { ruleName: string; reason?: string }[];
        }[];
      };
      const nag = report.pluginReports.find((r) => r.pluginName === 'AwsSolutions');
      expect(nag?.conclusion).toBe('success');
      expect(nag?.violations).toEqual([]);
      expect(JSON.stringify(nag?.suppressedViolations ?? [])).not.toContain('"reason":""');
    });

    it('fails synth on a finding nobody acknowledged', () => {
      const strict = appForTests();
      const { engine: other } = addFlowrunner(strict, { prefix: 'strict' });
      other.runs.advance.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }));
      expect(() => strict.synth()).toThrow(/AwsSolutions-IAM5\[Action::s3:\*\]/);
    });
  });

  describe('data stack', () => {
    it('builds every table exactly as the adapters define it (keys, indexes, TTL)', () => {
      const tables = dataTemplate.findResources('AWS::DynamoDB::Table');
      for (const { create, ttlAttribute } of tableDefinitions(names)) {
        const found = Object.values(tables).find(
          (t) => (t as { Properties: Json }).Properties.TableName === create.TableName,
        ) as { Properties: Json } | undefined;
        expect(found, create.TableName).toBeDefined();
        const p = found!.Properties;
        const byName = (a: { AttributeName?: string }, b: { AttributeName?: string }) =>
          (a.AttributeName ?? '').localeCompare(b.AttributeName ?? '');
        expect(p.KeySchema).toEqual(create.KeySchema);
        expect([...(p.AttributeDefinitions as { AttributeName: string }[])].sort(byName)).toEqual(
          [...(create.AttributeDefinitions ?? [])].sort(byName),
        );
        expect(p.GlobalSecondaryIndexes ?? []).toEqual(create.GlobalSecondaryIndexes ?? []);
        expect(p.BillingMode).toBe('PAY_PER_REQUEST');
        if (ttlAttribute) {
          expect(p.TimeToLiveSpecification).toEqual({ AttributeName: TTL_ATTRIBUTE, Enabled: true });
        } else {
          expect(p.TimeToLiveSpecification).toBeUndefined();
        }
      }
    });

    it('keeps every table on delete, with point-in-time recovery and encryption', () => {
      const tables = Object.values(dataTemplate.findResources('AWS::DynamoDB::Table'));
      expect(tables.map((t) => (t as { Properties: Json }).Properties.TableName).sort()).toEqual(
        Object.values(names).sort(),
      );
      for (const table of tables) {
        expect(table).toMatchObject({
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Retain',
          Properties: {
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            // SSEEnabled without a key: the AWS managed key aws/dynamodb.
            SSESpecification: { SSEEnabled: true },
            DeletionProtectionEnabled: true,
          },
        });
      }
    });

    it('blocks public access to the bucket, refuses plain HTTP, logs access and keeps it on delete', () => {
      const bucketId = logicalId(data, data.bucket);
      dataTemplate.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          PublicAccessBlockConfiguration: {
            BlockPublicAcls: true,
            BlockPublicPolicy: true,
            IgnorePublicAcls: true,
            RestrictPublicBuckets: true,
          },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
            ],
          },
          VersioningConfiguration: { Status: 'Enabled' },
          LoggingConfiguration: Match.objectLike({
            DestinationBucketName: { Ref: logicalId(data, data.accessLogsBucket) },
          }),
        }),
      });
      dataTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucketId },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('expires the copies of large answers after a day, and lets browsers read what a presigned URL serves', () => {
      dataTemplate.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: Match.anyValue(),
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            {
              Id: 'answer-copies',
              Prefix: 'answers/',
              Status: 'Enabled',
              ExpirationInDays: 1,
              NoncurrentVersionExpiration: { NoncurrentDays: 1 },
            },
          ]),
        },
        CorsConfiguration: {
          CorsRules: [{ AllowedMethods: ['GET'], AllowedOrigins: ['*'], AllowedHeaders: ['*'], MaxAge: 300 }],
        },
      });
    });

    it('composes the keys secret of two generated keys, never written into the template', () => {
      const secret = dataTemplate.findResources('AWS::SecretsManager::Secret', {
        Properties: { Name: 'flowrunner-keys' },
      });
      const [keys] = Object.values(secret) as { Properties: { SecretString: unknown } }[];
      const text = render(keys!.Properties.SecretString);
      const parsed = JSON.parse(text.replaceAll(/\$\{[^}]+\}/g, 'X')) as Json;
      expect(Object.keys(parsed).sort()).toEqual(['cursor_key', 'token_key']);
      expect(text.match(/\{\{resolve:secretsmanager:/g)).toHaveLength(2);
    });

    it('has the event bus', () => {
      dataTemplate.hasResourceProperties('AWS::Events::EventBus', { Name: 'flowrunner-events' });
    });

    it('registers no bucket for s3 listeners unless told: no S3 rule, no notification, no read of other buckets', () => {
      expect(engine.triggers.triggerBuckets).toEqual([]);
      expect(engine.triggers.objectCreatedRule).toBeUndefined();
      expect(engineTemplate.findResources('Custom::S3BucketNotifications')).toEqual({});
      const triggerRole = logicalId(engine, engine.triggers.function.role);
      expect(resourcesFor(engineTemplate, triggerRole, 's3:GetObject')).toEqual([
        `arn:\${AWS::Partition}:s3:::flowrunner-data-\${AWS::AccountId}-\${AWS::Region}/runs/*`,
      ]);
      expect(actionsOf(engineTemplate, triggerRole)).not.toContain('s3:GetObjectVersion');
    });
  });

  describe('functions', () => {
    it('run Node 22 on ARM64 with tracing and source maps', () => {
      for (const fn of [engine.runs.advance, engine.runs.awaitSignal]) {
        engineTemplate.hasResourceProperties('AWS::Lambda::Function', {
          Role: { 'Fn::GetAtt': [logicalId(engine, fn.role), 'Arn'] },
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          Environment: { Variables: Match.objectLike({ NODE_OPTIONS: '--enable-source-maps' }) },
          LoggingConfig: Match.objectLike({ LogGroup: { Ref: logicalId(engine, fn.logGroup) } }),
        });
      }
    });

    it('get every setting of functions/environment.ts, naming the data stack’s tables', () => {
      // The API keys secret and the trigger ports' settings are the API function's alone (tested below
      // and in triggers.test.ts); the OpenAI secret only when configured (openai-secret.test.ts).
      const apiOnly: string[] = [
        LambdaEnvironment.apiKeysSecretArn,
        LambdaEnvironment.scheduleGroup,
        LambdaEnvironment.scheduleTargetArn,
        LambdaEnvironment.schedulerRoleArn,
        LambdaEnvironment.triggerDlqArn,
        LambdaEnvironment.eventBusName,
      ];
      const required = Object.values(LambdaEnvironment).filter(
        (name) =>
          !name.startsWith('MOCK_AI_') &&
          !apiOnly.includes(name) &&
          name !== LambdaEnvironment.openAiSecretArn &&
          // Only with a Bedrock model configured (tests/infra/bedrock-model.test.ts).
          name !== LambdaEnvironment.aiProvider &&
          // Only with a verified SES identity configured (tests/infra/console.test.ts).
          name !== LambdaEnvironment.mailFrom &&
          // Advance's (below) and the API's: notifications and links point at the console (console.test.ts).
          name !== LambdaEnvironment.publicUrl &&
          name !== LambdaEnvironment.bedrockModel,
      );
      for (const fn of [engine.runs.advance, engine.runs.awaitSignal]) {
        const [resource] = Object.values(
          engineTemplate.findResources('AWS::Lambda::Function', {
            Properties: { Role: { 'Fn::GetAtt': [logicalId(engine, fn.role), 'Arn'] } },
          }),
        ) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
        const variables = resource!.Properties.Environment.Variables;
        // Observability adds the EMF namespace and service (tests/infra/observability.test.ts).
        expect(Object.keys(variables).sort()).toEqual(
          [
            ...required,
            ...(fn === engine.runs.advance ? [LambdaEnvironment.publicUrl] : []),
            'NODE_OPTIONS',
            'POWERTOOLS_METRICS_NAMESPACE',
            'POWERTOOLS_SERVICE_NAME',
          ].sort(),
        );
        expect(variables[LambdaEnvironment.workflowsTable]).toBe(names.workflows);
        expect(variables[LambdaEnvironment.runsTable]).toBe(names.runs);
        expect(variables[LambdaEnvironment.tokensTable]).toBe(names.tokens);
        expect(variables[LambdaEnvironment.listenersTable]).toBe(names.listeners);
        // The name the data stack gave its bucket, resolved in the engine stack's own account and region.
        const [bucket] = Object.values(
          dataTemplate.findResources('AWS::S3::Bucket', {
            Properties: { VersioningConfiguration: { Status: 'Enabled' } },
          }),
        ) as { Properties: { BucketName: unknown } }[];
        expect(render(variables[LambdaEnvironment.bucket])).toBe(render(bucket!.Properties.BucketName));
        expect(render(variables[LambdaEnvironment.bucket])).toBe(
          `flowrunner-data-\${AWS::AccountId}-\${AWS::Region}`,
        );
        expect(render(variables[LambdaEnvironment.stateMachineArn])).toBe(`arn:${machineArn}`);
        expect(variables[LambdaEnvironment.keysSecretArn]).toEqual({
          'Fn::ImportValue': expect.stringContaining(logicalId(data, data.keysSecret)),
        });
        expect(variables[LambdaEnvironment.secretPrefix]).toBe('flowrunner/');
        expect(variables[LambdaEnvironment.allowPrivateNetwork]).toBe('false');
      }
    });
  });

  describe('permissions', () => {
    it('lets Advance start executions of the machine and complete task tokens', () => {
      engineTemplate.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: advanceRole }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Action: Match.arrayWith(['states:SendTaskSuccess', 'states:StartExecution']),
            }),
          ]),
        },
      });
      expect(resourcesFor(engineTemplate, advanceRole, 'states:StartExecution')).toEqual([
        `arn:${machineArn}`,
      ]);
      expect(resourcesFor(engineTemplate, advanceRole, 'states:SendTaskSuccess')).toEqual([
        `arn:${machineArn}`,
      ]);
    });

    it('lets AwaitSignal complete task tokens but not start executions', () => {
      engineTemplate.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: awaitSignalRole }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Allow', Action: 'states:SendTaskSuccess' }),
          ]),
        },
      });
      expect(resourcesFor(engineTemplate, awaitSignalRole, 'states:SendTaskSuccess')).toEqual([
        `arn:${machineArn}`,
      ]);
      expect(actionsOf(engineTemplate, awaitSignalRole)).not.toContain('states:StartExecution');
    });

    it('gives Advance read/write on runs and tokens, read on workflows, nothing on listeners', () => {
      const table = (name: string) =>
        `arn:\${AWS::Partition}:dynamodb:\${AWS::Region}:\${AWS::AccountId}:table/${name}`;
      expect(resourcesFor(engineTemplate, advanceRole, 'dynamodb:PutItem').sort()).toEqual(
        [table(names.runs), `${table(names.runs)}/index/*`, table(names.tokens)].sort(),
      );
      expect(resourcesFor(engineTemplate, advanceRole, 'dynamodb:Query')).toEqual(
        expect.arrayContaining([table(names.workflows), `${table(names.workflows)}/index/*`]),
      );
      const dynamodbResources = actionsOf(engineTemplate, advanceRole)
        .filter((action) => action.startsWith('dynamodb:'))
        .flatMap((action) => resourcesFor(engineTemplate, advanceRole, action));
      expect(dynamodbResources.some((arn) => arn.includes(names.listeners))).toBe(false);
    });

    it('gives AwaitSignal the runs table only', () => {
      const resources = actionsOf(engineTemplate, awaitSignalRole)
        .filter((action) => action.startsWith('dynamodb:'))
        .flatMap((action) => resourcesFor(engineTemplate, awaitSignalRole, action));
      expect(new Set(resources.map((arn) => arn.replace(/\/index\/\*$/, '').split('/')[1]))).toEqual(
        new Set([names.runs]),
      );
    });

    it('gives Advance the objects under runs/ and the workflow secrets; AwaitSignal neither', () => {
      const objects = resourcesFor(engineTemplate, advanceRole, 's3:PutObject');
      expect(objects).toEqual([
        `arn:\${AWS::Partition}:s3:::flowrunner-data-\${AWS::AccountId}-\${AWS::Region}/runs/*`,
      ]);
      expect(resourcesFor(engineTemplate, advanceRole, 's3:GetObject')).toEqual(objects);
      expect(resourcesFor(engineTemplate, advanceRole, 'secretsmanager:GetSecretValue')).toContain(
        `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:flowrunner/*`,
      );
      const awaitActions = actionsOf(engineTemplate, awaitSignalRole);
      expect(awaitActions.filter((action) => action.startsWith('s3:'))).toEqual([]);
      expect(resourcesFor(engineTemplate, awaitSignalRole, 'secretsmanager:GetSecretValue')).toHaveLength(1);
    });

    it('lets the machine invoke the two functions and start executions of itself, nothing more', () => {
      const machineRole = logicalId(engine, engine.runs.stateMachine.role);
      expect(resourcesFor(engineTemplate, machineRole, 'lambda:InvokeFunction').sort()).toEqual(
        [
          `\${${logicalId(engine, engine.runs.advance.function)}.Arn}`,
          `\${${logicalId(engine, engine.runs.awaitSignal.function)}.Arn}`,
        ].sort(),
      );
      expect(resourcesFor(engineTemplate, machineRole, 'states:StartExecution')).toEqual([
        `arn:${machineArn}`,
      ]);
    });
  });

  describe('state machine', () => {
    it('deploys exactly the definition of infra/state-machine.ts, with the ARNs resolved', () => {
      const [machine] = Object.values(engineTemplate.findResources('AWS::StepFunctions::StateMachine')) as {
        Properties: { DefinitionString: unknown };
      }[];
      const deployed = JSON.parse(render(machine!.Properties.DefinitionString)) as unknown;
      const options = engine.runs.definitionOptions;
      const expected = stateMachineDefinition({
        ...options,
        advanceFunctionArn: render(engine.resolve(options.advanceFunctionArn)),
        awaitSignalFunctionArn: render(engine.resolve(options.awaitSignalFunctionArn)),
        stateMachineArn: render(engine.resolve(options.stateMachineArn)),
      });
      expect(deployed).toEqual(expected);
      expect(expected.States.Advance?.Resource).toBe(
        `\${${logicalId(engine, engine.runs.advance.function)}.Arn}`,
      );
    });

    it('is a Standard machine with a fixed name, logging everything and traced', () => {
      engineTemplate.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: 'flowrunner-runs',
        StateMachineType: 'STANDARD',
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
        TracingConfiguration: { Enabled: true },
      });
      engineTemplate.hasOutput('StateMachineArn', {
        Value: { Ref: logicalId(engine, engine.runs.stateMachine) },
      });
    });

    it('gives Advance a task timeout longer than the function’s own', () => {
      const advanceTimeout = engine.runs.advance.function.timeout?.toSeconds() ?? 0;
      expect(engine.runs.definitionOptions.advanceTimeoutS).toBeGreaterThan(advanceTimeout);
    });
  });

  describe('alarms', () => {
    it('watch failed executions, and errors and throttles of each function', () => {
      engineTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsFailed',
        Dimensions: [
          { Name: 'StateMachineArn', Value: { Ref: logicalId(engine, engine.runs.stateMachine) } },
        ],
        Threshold: 1,
      });
      for (const fn of [engine.runs.advance, engine.runs.awaitSignal]) {
        for (const metric of ['Errors', 'Throttles']) {
          engineTemplate.hasResourceProperties('AWS::CloudWatch::Alarm', {
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(engine, fn.function) } }],
          });
        }
      }
    });
  });

  describe('logical ids', () => {
    it('stay those of the deployed engine, whose resources were once children of the stack', () => {
      // A new logical id replaces the resource: the machine's fixed name would make the deploy fail,
      // parked runs hold the functions' ARNs, and clients hold the API's URL.
      expect(Object.keys(engineTemplate.toJSON().Resources as Json).sort()).toEqual([
        'AdvanceErrorsAlarm68F3038B',
        'AdvanceFunctionAB95A19E',
        'AdvanceLogsE86BABAC',
        'AdvanceRoleDefaultPolicyA024C47B',
        'AdvanceRoleE9B33425',
        'AdvanceThrottlesAlarmBC297DD6',
        'ApiAccessLogsE9DF007D',
        'ApiFunction6BF808ED',
        'ApiLogsCD139AD4',
        'ApiRoleDE7A08EC',
        'ApiRoleDefaultPolicyEAA3579A',
        'AwaitSignalErrorsAlarm965AB7DC',
        'AwaitSignalFunctionFC3A18AD',
        'AwaitSignalLogs14EDDB7C',
        'AwaitSignalRole780072C8',
        'AwaitSignalRoleDefaultPolicy9D44FB31',
        'AwaitSignalThrottlesAlarm3B330561',
        'BusEventsRule8A1E2A01',
        'BusEventsRuleAllowEventRuleFlowrunnerEngineTriggersTriggerFunction7E676DD9BC30BD17',
        'ConsoleBuildAwsCliLayerBBA998E5',
        'ConsoleBuildCustomResource256MiBA96057FE',
        'ConsoleDistribution022D3262',
        'ConsoleDistributionOrigin1S3OriginAccessControl90692D52',
        'ConsoleFiles2D43986C',
        'ConsoleFilesAutoDeleteObjectsCustomResource9D3DE8BB',
        'ConsoleFilesPolicyD97F65C9',
        'ConsoleHeaders05929661',
        'ConsoleRoutes971E0FAE',
        'CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB5F7BD223',
        'CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiBLogGroup2BF8D970',
        'CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiBServiceRoleDefaultPolicyE5468F0E',
        'CustomCDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiBServiceRoleF991ED9F',
        'CustomS3AutoDeleteObjectsCustomResourceProviderHandler9D90184F',
        'CustomS3AutoDeleteObjectsCustomResourceProviderRole3B1BD092',
        'Dashboard7A714131',
        'ExecutionsFailedAlarmCA489332',
        'ExecutionsTimedOutAlarm75AA4D6F',
        'HttpApiDefaultRoute146696CE',
        'HttpApiDefaultRouteApi5C644F2D',
        'HttpApiDefaultRouteApiPermissionA402DB20',
        'HttpApiDefaultStage3EEB07D6',
        'HttpApiF5A9A8A7',
        'NotificationsRetryFunction7B4EEB8F',
        'NotificationsRetryLogs07C9F740',
        'NotificationsRetryRoleDefaultPolicyAE33A0E3',
        'NotificationsRetryRoleEA483CA0',
        'NotificationsSchedule2D02DB62',
        'NotificationsScheduleAllowEventRuleFlowrunnerEngineNotificationsRetryFunction27537E9348BB42DC',
        'RunsFailedAlarm1C365284',
        'ScheduleGroup4D377372',
        'SchedulerRole59E73443',
        'SchedulerRoleDefaultPolicy66F774B8',
        'StateMachine2E01A3A5',
        'StateMachineLogs3CB16D3C',
        'StateMachineRoleB840431D',
        'StateMachineRoleDefaultPolicyDF1E6607',
        'TopicBFC7AF6E',
        'TopicKeyB2E0C9CB',
        'TopicPolicyA1747468',
        'TriggerDeadLetters88A2981F',
        'TriggerDeadLettersAlarmBAA09980',
        'TriggerDeadLettersPolicy995B220D',
        'TriggerErrorsAlarm4CFFC8E3',
        'TriggerFunctionAD2A6013',
        'TriggerFunctionEventInvokeConfig49131558',
        'TriggerLogsBBD4398C',
        'TriggerRoleC1CF476C',
        'TriggerRoleDefaultPolicy2CC3CF8D',
        'TriggerThrottlesAlarmDBEE701C',
      ]);
    });

    it('are made as CDK makes them when no construct is left out of the path', () => {
      const elements = data.node.findAll().filter(CfnElement.isCfnElement);
      expect(elements.length).toBeGreaterThan(10);
      for (const element of elements) {
        expect(logicalIdWithout(element, () => false)).toBe(data.getLogicalId(element));
      }
    });
  });

  describe('the HTTP API', () => {
    it('sends every route to the API function, logs access, and outputs its URL', () => {
      engineTemplate.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
      engineTemplate.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
      engineTemplate.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      });
      expect(Object.keys(engineTemplate.findOutputs('ApiUrl'))).toEqual(['ApiUrl']);
    });

    it('lets the API function start and wake executions and read its keys, and nothing of Advance’s secrets', () => {
      const apiRole = logicalId(engine, engine.httpApi.handler.role);
      const actions = actionsOf(engineTemplate, apiRole);
      expect(actions).toEqual(expect.arrayContaining(['states:StartExecution', 'states:SendTaskSuccess']));
      expect(resourcesFor(engineTemplate, apiRole, 'secretsmanager:GetSecretValue').join(' ')).not.toContain(
        'flowrunner/*',
      );
      const [fn] = Object.values(
        engineTemplate.findResources('AWS::Lambda::Function', {
          Properties: { Role: { 'Fn::GetAtt': [apiRole, 'Arn'] } },
        }),
      ) as { Properties: { Environment: { Variables: Record<string, unknown> } } }[];
      expect(Object.keys(fn!.Properties.Environment.Variables)).toContain(LambdaEnvironment.apiKeysSecretArn);
    });

    it('lets the API alone write copies of large answers, under answers/ only', () => {
      const bucket = `arn:\${AWS::Partition}:s3:::flowrunner-data-\${AWS::AccountId}-\${AWS::Region}`;
      const apiRole = logicalId(engine, engine.httpApi.handler.role);
      expect(resourcesFor(engineTemplate, apiRole, 's3:PutObject').sort()).toEqual(
        [`${bucket}/answers/*`, `${bucket}/runs/*`].sort(),
      );
      expect(resourcesFor(engineTemplate, advanceRole, 's3:PutObject')).toEqual([`${bucket}/runs/*`]);
    });
  });
});
