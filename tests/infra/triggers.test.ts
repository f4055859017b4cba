// Triggers as deployed: the trigger function and exactly what it may do, the rules and what they match
// (checked with the project's own pattern matcher on the sample events), the Scheduler role, the
// dead-letter queue and its alarm, and the API's right to keep schedules and put events.
import { readFileSync } from 'node:fs';
import type { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { functionSettings, LambdaEnvironment } from '../../functions/environment.js';
import { projectPath } from '../../infra/constructs/paths.js';
import { TRIGGER_BUCKETS_CONTEXT } from '../../infra/constructs/triggers.js';
import type { EngineStack } from '../../infra/stacks/engine-stack.js';
import { addFlowrunner } from '../../infra/stacks/flowrunner.js';
import { matchesEventPattern } from '../../shared/triggers/event-pattern.js';
import { appForTests, render, statementsOf } from '../support/cdk.js';

type Json = Record<string, unknown>;

const partition = `\${AWS::Partition}`;
const here = `\${AWS::Region}:\${AWS::AccountId}`;
const table = (name: string) => `arn:${partition}:dynamodb:${here}:table/flowrunner-${name}`;
const dataBucket = `arn:${partition}:s3:::flowrunner-data-\${AWS::AccountId}-\${AWS::Region}`;

/** A role's permissions: action → the resources it is allowed on (`resource if {condition}`), sorted. */
function permissionsOf(template: Template, roleLogicalId: string): Record<string, string[]> {
  const permissions: Record<string, string[]> = {};
  for (const statement of statementsOf(template, roleLogicalId)) {
    const condition = statement.condition === undefined ? '' : ` if ${JSON.stringify(statement.condition)}`;
    for (const action of statement.actions) {
      permissions[action] = [
        ...(permissions[action] ?? []),
        ...statement.resources.map((r) => r + condition),
      ].sort();
    }
  }
  return permissions;
}

/**
 * A function's environment as its settings would read it: values rendered as text, and a reference to
 * another resource (`${Logical.Arn}`, an import) written as the ARN it resolves to at deploy.
 */
function environmentOf(variables: Json): Record<string, string> {
  return Object.fromEntries(
    Object.entries(variables).map(([name, value]) => {
      const text = render(value);
      return [name, text.startsWith('${') ? `arn:${text}` : text];
    }),
  );
}

const sample = (file: string) => JSON.parse(readFileSync(projectPath(`events/${file}`), 'utf8')) as Json;

describe('triggers in the cloud', () => {
  let app: App;
  let engine: EngineStack;
  let template: Template;
  let id: (construct: { node: { defaultChild?: unknown } }) => string;

  beforeAll(() => {
    app = appForTests();
    // Registered as `cdk deploy -c flowrunner:trigger-buckets=…` would: a list, one name twice.
    app.node.setContext(TRIGGER_BUCKETS_CONTEXT, 'inbox, acme-scans,inbox');
    ({ engine } = addFlowrunner(app));
    app.synth(); // cdk-nag runs here: an unacknowledged finding throws
    template = Template.fromStack(engine);
    id = (construct) => engine.getLogicalId(construct.node.defaultChild as never);
    // One synth of the whole app with cdk-nag: seconds, more on a loaded machine.
  }, 180_000);

  it('registers each bucket once and turns its EventBridge notifications on', () => {
    expect(engine.triggers.triggerBuckets).toEqual(['inbox', 'acme-scans']);
    for (const bucket of ['inbox', 'acme-scans']) {
      template.hasResourceProperties('Custom::S3BucketNotifications', {
        BucketName: bucket,
        NotificationConfiguration: { EventBridgeConfiguration: {} },
        // Merged with what the bucket's owner configured, not replaced.
        Managed: false,
      });
    }
  });

  it('gives the trigger function exactly what deliverTrigger needs, and nothing else', () => {
    const fn = engine.triggers.function;
    const logs = `\${${id(fn.logGroup)}.Arn}`;
    const dlq = `\${${id(engine.triggers.deadLetterQueue)}.Arn}`;
    const idempotencyOnly = ` if ${JSON.stringify({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['idem#*'] } })}`;
    const registered = ['acme-scans', 'inbox'].map((b) => `arn:${partition}:s3:::${b}`);
    const withIndexes = (name: string) => [table(name), `${table(name)}/index/*`];
    expect(permissionsOf(template, id(fn.role))).toEqual({
      'logs:CreateLogStream': [logs],
      'logs:PutLogEvents': [logs],
      'xray:PutTelemetryRecords': ['*'],
      'xray:PutTraceSegments': ['*'],
      // Failed invocations go to the dead-letter queue (Lambda's on-failure destination).
      'sqs:GetQueueAttributes': [dlq],
      'sqs:GetQueueUrl': [dlq],
      'sqs:SendMessage': [dlq],
      'dynamodb:GetItem': [
        ...withIndexes('listeners'),
        ...withIndexes('runs'),
        `${table('tokens')}${idempotencyOnly}`,
        ...withIndexes('workflows'),
      ].sort(),
      'dynamodb:Query': [
        ...withIndexes('listeners'),
        ...withIndexes('runs'),
        ...withIndexes('workflows'),
      ].sort(),
      'dynamodb:UpdateItem': [...withIndexes('listeners'), ...withIndexes('runs')].sort(),
      'dynamodb:PutItem': [...withIndexes('runs'), `${table('tokens')}${idempotencyOnly}`].sort(),
      's3:GetObject': [`${dataBucket}/runs/*`, ...registered.map((b) => `${b}/*`)].sort(),
      's3:GetObjectVersion': registered.map((b) => `${b}/*`),
      's3:GetObjectTagging': registered.map((b) => `${b}/*`),
      's3:GetObjectVersionTagging': registered.map((b) => `${b}/*`),
      's3:PutObject': [`${dataBucket}/runs/*`],
      's3:PutObjectTagging': [`${dataBucket}/runs/*`],
      's3:ListBucket': [dataBucket, ...registered].sort(),
      'secretsmanager:GetSecretValue': [expect.stringContaining('import:')],
      'states:StartExecution': [`arn:${partition}:states:${here}:stateMachine:flowrunner-runs`],
    });
  });

  it('runs the trigger function like the others, with every setting it needs, and keeps what it could not do', () => {
    const fn = engine.triggers.function;
    const [resource] = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Role: { 'Fn::GetAtt': [id(fn.role), 'Arn'] } },
      }),
    ) as { Properties: Json & { Environment: { Variables: Json } } }[];
    expect(resource!.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Timeout: 300,
    });
    const variables = resource!.Properties.Environment.Variables;
    // Its settings parse (tokens rendered as text): the function starts, and manages no schedule.
    const settings = functionSettings(environmentOf(variables));
    expect(settings.schedules).toBeUndefined();
    expect(settings.tables.listeners).toBe('flowrunner-listeners');
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: id(fn.function) },
      MaximumRetryAttempts: 2,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [id(engine.triggers.deadLetterQueue), 'Arn'] } },
      },
    });
    for (const metric of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(fn.function) } }],
      });
    }
  });

  describe('rules: one per source family, each to the trigger function with retries and the dead-letter queue', () => {
    const ruleOf = (rule: { node: { defaultChild?: unknown } }) =>
      template.toJSON().Resources[id(rule)].Properties as {
        EventPattern: Json;
        EventBusName?: string;
        Targets: Json[];
      };

    it('sends Object Created of the registered buckets from the default bus, and only those', () => {
      const rule = ruleOf(engine.triggers.objectCreatedRule!);
      expect(rule.EventBusName).toBeUndefined();
      for (const file of [
        's3/object-created.json',
        's3/object-created-unversioned.json',
        's3/object-created-multipart.json',
      ]) {
        expect(matchesEventPattern(rule.EventPattern, sample(file)), file).toBe(true);
      }
      const other = sample('s3/object-created.json');
      (other.detail as { bucket: { name: string } }).bucket.name = 'someone-elses-bucket';
      expect(matchesEventPattern(rule.EventPattern, other)).toBe(false);
      const deleted = { ...sample('s3/object-created.json'), 'detail-type': 'Object Deleted' };
      expect(matchesEventPattern(rule.EventPattern, deleted)).toBe(false);
    });

    it('sends every event of the project’s bus', () => {
      const rule = ruleOf(engine.triggers.busRule);
      expect(rule.EventBusName).toBe('flowrunner-events');
      for (const file of ['eventbridge/custom-event.json', 'eventbridge/order-placed.json']) {
        expect(matchesEventPattern(rule.EventPattern, sample(file)), file).toBe(true);
      }
      expect(
        matchesEventPattern(rule.EventPattern, { ...sample('eventbridge/custom-event.json'), source: 'x' }),
      ).toBe(true);
    });

    it('targets the function with a retry policy and the dead-letter queue, which EventBridge may write to', () => {
      for (const rule of [engine.triggers.objectCreatedRule!, engine.triggers.busRule]) {
        expect(ruleOf(rule).Targets).toEqual([
          expect.objectContaining({
            Arn: { 'Fn::GetAtt': [id(engine.triggers.function.function), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(engine.triggers.deadLetterQueue), 'Arn'] } },
            RetryPolicy: { MaximumEventAgeInSeconds: 21600, MaximumRetryAttempts: 20 },
          }),
        ]);
        template.hasResourceProperties('AWS::Lambda::Permission', {
          Principal: 'events.amazonaws.com',
          SourceArn: { 'Fn::GetAtt': [id(rule), 'Arn'] },
        });
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Action: 'sqs:SendMessage',
                Principal: { Service: 'events.amazonaws.com' },
                Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [id(rule), 'Arn'] } } },
              }),
            ]),
          },
        });
      }
    });
  });

  it('lets Scheduler, for this account’s listener schedules only, invoke the trigger function and dead-letter, nothing else', () => {
    const role = engine.triggers.schedulerRole;
    const schedules = `arn:${partition}:scheduler:${here}:schedule/flowrunner-listeners/*`;
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          },
        ],
      },
    });
    const [trust] = Object.values(
      template.findResources('AWS::IAM::Role', {
        Properties: { Description: Match.stringLikeRegexp('Scheduler') },
      }),
    ) as { Properties: { AssumeRolePolicyDocument: { Statement: { Condition: { ArnLike: Json } }[] } } }[];
    expect(
      render(trust!.Properties.AssumeRolePolicyDocument.Statement[0]!.Condition.ArnLike['aws:SourceArn']),
    ).toBe(schedules);
    expect(permissionsOf(template, id(role))).toEqual({
      'lambda:InvokeFunction': [`\${${id(engine.triggers.function.function)}.Arn}`],
      'sqs:SendMessage': [`\${${id(engine.triggers.deadLetterQueue)}.Arn}`],
    });
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'flowrunner-listeners' });
  });

  it('lets the API keep the group’s schedules (passing only the Scheduler role) and put events on the project’s bus only', () => {
    const api = engine.httpApi.handler;
    const permissions = permissionsOf(template, id(api.role));
    const schedules = `arn:${partition}:scheduler:${here}:schedule/flowrunner-listeners/*`;
    for (const action of [
      'scheduler:CreateSchedule',
      'scheduler:UpdateSchedule',
      'scheduler:DeleteSchedule',
    ]) {
      expect(permissions[action]).toEqual([schedules]);
    }
    expect(permissions['iam:PassRole']).toEqual([
      `\${${id(engine.triggers.schedulerRole)}.Arn} if ${JSON.stringify({
        StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' },
      })}`,
    ]);
    expect(permissions['events:PutEvents']).toEqual([
      `arn:${partition}:events:${here}:event-bus/flowrunner-events`,
    ]);
    expect(
      Object.keys(permissions)
        .filter((a) => /^(scheduler|events|iam|lambda):/.test(a))
        .sort(),
    ).toEqual([
      'events:PutEvents',
      'iam:PassRole',
      'scheduler:CreateSchedule',
      'scheduler:DeleteSchedule',
      'scheduler:UpdateSchedule',
    ]);
  });

  it('gives the API the settings of the Schedules and EventBus adapters, naming these very resources', () => {
    const [resource] = Object.values(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Role: { 'Fn::GetAtt': [id(engine.httpApi.handler.role), 'Arn'] } },
      }),
    ) as { Properties: { Environment: { Variables: Json } } }[];
    const variables = environmentOf(resource!.Properties.Environment.Variables);
    const settings = functionSettings(variables);
    expect(settings.schedules).toEqual({
      groupName: 'flowrunner-listeners',
      targetArn: `arn:\${${id(engine.triggers.function.function)}.Arn}`,
      roleArn: `arn:\${${id(engine.triggers.schedulerRole)}.Arn}`,
      deadLetterQueueArn: `arn:\${${id(engine.triggers.deadLetterQueue)}.Arn}`,
    });
    expect(settings.eventBusName).toBe('flowrunner-events');
    expect(variables[LambdaEnvironment.scheduleGroup]).toBe('flowrunner-listeners');
  });

  it('keeps dead letters 14 days, encrypted, over TLS only, and raises an alarm on the first one', () => {
    const queue = id(engine.triggers.deadLetterQueue);
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('refuses a registered bucket that is no bucket name, or the data bucket itself, before anything is built', () => {
    const bad = appForTests();
    bad.node.setContext(TRIGGER_BUCKETS_CONTEXT, '["inbox", "Not_A_Bucket"]');
    expect(() => addFlowrunner(bad, { prefix: 'bad', checks: false })).toThrow(
      /flowrunner:trigger-buckets must list S3 bucket names/,
    );
    // Its own data bucket would fire on the copies it receives.
    const loop = appForTests();
    loop.node.setContext(TRIGGER_BUCKETS_CONTEXT, 'inbox,flowrunner-data-123456789012-eu-west-1');
    expect(() => addFlowrunner(loop, { checks: false })).toThrow(/is Flowrunner's own data bucket/);
  });
});
