/**
 * Triggers in the cloud (CONTRACT §6, docs/deploy.md "Triggers"): the trigger function and what feeds
 * it — S3 "Object Created" of the registered buckets through EventBridge's default bus, every event of
 * the project's bus, and the schedule listeners' EventBridge Scheduler schedules — with one encrypted
 * dead-letter queue for whatever could not be delivered, and the API's right to keep schedules and put
 * events. One rule per source family, not one per listener: the function matches the stored listeners.
 */
import { ArnFormat, Aws, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LambdaEnvironment } from '../../functions/environment.js';
import { s3Match } from '../../shared/triggers/listener-match.js';
import {
  bindBucket,
  bindKeysSecret,
  bindSettings,
  bindStateMachine,
  bindTable,
  type DataTables,
  RUN_OBJECTS,
} from './bindings.js';
import { FlowFunction } from './flow-function.js';
import { acknowledge, acknowledgeWildcardResource } from './nag.js';

/** The context value naming the buckets whose uploads may fire `s3` listeners (`cdk deploy -c …`). */
export const TRIGGER_BUCKETS_CONTEXT = 'flowrunner:trigger-buckets';

/** How long and how often EventBridge and Lambda retry a delivery before it goes to the dead-letter queue. */
const RULE_RETRY = { attempts: 20, maxAge: Duration.hours(6) };
const ASYNC_RETRY = { attempts: 2, maxAge: Duration.hours(6) };

export interface TriggersProps {
  /** Names the schedule group `<prefix>-listeners`. */
  prefix: string;
  tables: DataTables;
  /** The data bucket: uploads are copied into a run's artifacts there (`runs/<id>/artifacts/trigger/…`). */
  bucket: s3.IBucket;
  keysSecret: secretsmanager.ISecret;
  /** The machine the trigger function starts runs on (an ARN built from its name, see bindStateMachine). */
  stateMachineArn: string;
  /** The project's bus (the data stack's `<prefix>-events`), by name. */
  eventBusName: string;
  /**
   * Buckets whose "Object Created" events fire `s3` listeners; default the context value
   * `flowrunner:trigger-buckets` (a JSON list or comma-separated names). CDK turns their EventBridge
   * notifications on; the trigger function may read their objects and nothing else of theirs.
   */
  triggerBuckets?: string[];
  /** The API function: it keeps the schedules of schedule listeners and puts events on the bus. */
  api: FlowFunction;
}

export class Triggers extends Construct {
  public readonly function: FlowFunction;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The role EventBridge Scheduler assumes: it may invoke the trigger function and dead-letter, nothing else. */
  public readonly schedulerRole: iam.Role;
  public readonly scheduleGroup: scheduler.ScheduleGroup;
  public readonly bus: events.IEventBus;
  /** Every event of the project's bus to the trigger function. */
  public readonly busRule: events.Rule;
  /** Object Created of the registered buckets (default bus) to the trigger function; none without buckets. */
  public readonly objectCreatedRule: events.Rule | undefined;
  public readonly triggerBuckets: string[];

  constructor(scope: Construct, id: string, props: TriggersProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { tables, bucket } = props;
    this.triggerBuckets = triggerBucketsOf(this, props.triggerBuckets);
    // The data bucket holds the runs' artifacts, and an upload is copied into it: a listener on it would
    // fire on its own copies, for ever. (The local S3's own bucket fires nothing either.)
    const own = this.triggerBuckets.find((name) => name.startsWith(`${props.prefix}-data-`));
    if (own !== undefined) {
      throw new Error(
        `${TRIGGER_BUCKETS_CONTEXT}: '${own}' is Flowrunner's own data bucket; register the buckets uploads arrive in`,
      );
    }

    this.deadLetterQueue = new sqs.Queue(this, 'TriggerDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS keeps a message: time to read the failure, fix the cause and redrive.
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.deadLetterQueue,
      'SQS3',
      'This queue is the dead-letter queue itself (of the trigger rules, the schedules and the trigger ' +
        "function's failed invocations); a queue behind it would only move the problem.",
    );
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'TriggerDeadLettersAlarm', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'A trigger (S3 upload, bus event or schedule fire) could not be delivered: see the dead-letter queue',
    });

    this.function = new FlowFunction(this, 'Trigger', {
      entry: 'functions/trigger.ts',
      description:
        'Flowrunner trigger: starts the runs of the listeners an S3 upload, a bus event or a schedule fires',
      // An upload is copied into the run's artifacts before the run starts: CopyObject of up to 5 GB.
      timeout: Duration.minutes(5),
      memorySize: 512,
    });
    const fn = this.function;
    // Failed invocations (after Lambda's own retries) keep their event in the dead-letter queue.
    fn.function.configureAsyncInvoke({
      retryAttempts: ASYNC_RETRY.attempts,
      maxEventAge: ASYNC_RETRY.maxAge,
      onFailure: new destinations.SqsDestination(this.deadLetterQueue),
    });

    // Stores: the workflow to start (read), the run (written), the (listener, event id) claim, and the
    // listener's counters. Exactly the calls the adapters make for deliverTrigger.
    bindTable(fn, LambdaEnvironment.workflowsTable, tables.workflows, 'read');
    bindTable(fn, LambdaEnvironment.runsTable, tables.runs, 'none');
    grantTable(fn, tables.runs, [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    bindTable(fn, LambdaEnvironment.tokensTable, tables.tokens, 'none');
    bindTable(fn, LambdaEnvironment.listenersTable, tables.listeners, 'none');
    grantTable(fn, tables.listeners, ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem']);
    // The tokens table also holds callback tokens: only idempotency records (`idem#…`) are the function's.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: [tables.tokens.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['idem#*'] } },
      }),
    );
    bindBucket(fn, bucket, 'none');
    // The copy of an upload (and a claimed large input) under runs/; the HEAD after it; ListBucket so a
    // missing key is a 404, not a 403.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:PutObjectTagging'],
        resources: [bucket.arnForObjects(RUN_OBJECTS)],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
    );
    bindKeysSecret(fn, props.keysSecret);
    bindStateMachine(fn, props.stateMachineArn, ['startExecution']);
    bindSettings(fn, { allowPrivateNetwork: false });

    // The registered buckets: their objects may be read (to copy them), nothing else; EventBridge on.
    const buckets = this.triggerBuckets.map((name, index) => {
      const registered = s3.Bucket.fromBucketName(this, `TriggerBucket${index}`, name);
      registered.enableEventBridgeNotification();
      return registered;
    });
    if (buckets.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          // A copy reads the object (its version when the event names one) and the tags it carries over.
          actions: [
            's3:GetObject',
            's3:GetObjectVersion',
            's3:GetObjectTagging',
            's3:GetObjectVersionTagging',
          ],
          resources: buckets.map((b) => b.arnForObjects('*')),
        }),
      );
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: buckets.map((b) => b.bucketArn) }),
      );
    }

    const ruleTarget = () =>
      new targets.LambdaFunction(fn.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: RULE_RETRY.attempts,
        maxEventAge: RULE_RETRY.maxAge,
      });
    this.objectCreatedRule =
      buckets.length > 0
        ? new events.Rule(this, 'ObjectCreatedRule', {
            description: 'Flowrunner: uploads to the registered buckets fire their s3 listeners',
            eventPattern: {
              source: ['aws.s3'],
              detailType: ['Object Created'],
              detail: { bucket: { name: this.triggerBuckets } },
            },
            targets: [ruleTarget()],
          })
        : undefined;

    this.bus = events.EventBus.fromEventBusName(this, 'Bus', props.eventBusName);
    this.busRule = new events.Rule(this, 'BusEventsRule', {
      description:
        "Flowrunner: every event of the project's bus goes to the trigger function (it matches the listeners)",
      eventBus: this.bus,
      // A pattern must name a field: every event has a source, and every source starts with "".
      eventPattern: { source: events.Match.prefix('') },
      targets: [ruleTarget()],
    });

    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: `${props.prefix}-listeners`,
    });
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description:
        'Flowrunner: EventBridge Scheduler invokes the trigger function for the listener schedules',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        // The confused deputy: only schedules of this account's listener group may use the role.
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': schedulesArn(stack, this.scheduleGroup.scheduleGroupName) },
        },
      }),
    });
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [fn.function.functionArn] }),
    );
    // Scheduler dead-letters with the schedule's role.
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }),
    );

    // The API keeps the schedules (in this group only) and puts events (on this bus only).
    const api = props.api;
    api.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['scheduler:CreateSchedule', 'scheduler:UpdateSchedule', 'scheduler:DeleteSchedule'],
        resources: [schedulesArn(stack, this.scheduleGroup.scheduleGroupName)],
      }),
    );
    api.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['iam:PassRole'],
        resources: [this.schedulerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
      }),
    );
    api.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.bus.eventBusArn] }),
    );
    api.addEnvironment(LambdaEnvironment.scheduleGroup, this.scheduleGroup.scheduleGroupName);
    api.addEnvironment(LambdaEnvironment.scheduleTargetArn, fn.function.functionArn);
    api.addEnvironment(LambdaEnvironment.schedulerRoleArn, this.schedulerRole.roleArn);
    api.addEnvironment(LambdaEnvironment.triggerDlqArn, this.deadLetterQueue.queueArn);
    api.addEnvironment(LambdaEnvironment.eventBusName, this.bus.eventBusName);

    acknowledgeWildcardResource(
      api,
      schedulesArn(stack, this.scheduleGroup.scheduleGroupName),
      'The schedules of the listener group only: each is named by a listener id, made when a user creates a listener.',
    );
    acknowledgeWildcardResource(
      fn,
      `${tables.listeners.tableArn}/index/*`,
      "Query on the listeners table's own index (by_source) to find the listeners an event concerns.",
    );
    acknowledgeWildcardResource(
      fn,
      `${tables.runs.tableArn}/index/*`,
      "The runs table's own indexes, granted with the table (DynamoDB grants cover a table's indexes).",
    );
    acknowledgeWildcardResource(
      fn,
      `${tables.workflows.tableArn}/index/*`,
      "Query on the workflows table's own index (by_kind), not on other tables.",
    );
    acknowledgeWildcardResource(
      fn,
      bucket.arnForObjects(RUN_OBJECTS),
      'Objects under runs/ only: an upload is copied to runs/<run_id>/artifacts/trigger/…, with run ids made at run time.',
    );
    for (const registered of buckets) {
      acknowledgeWildcardResource(
        fn,
        registered.arnForObjects('*'),
        `Read-only on the objects of ${registered.bucketName}, a bucket registered for s3 listeners: any upload may fire one.`,
      );
    }
    if (buckets.length > 0) acknowledgeBucketNotificationsHandler(stack);
  }
}

/** `arn:…:scheduler:<region>:<account>:schedule/<group>/*`: every schedule of the group. */
function schedulesArn(stack: Stack, groupName: string): string {
  return stack.formatArn({
    service: 'scheduler',
    resource: 'schedule',
    resourceName: `${groupName}/*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

function grantTable(fn: FlowFunction, table: dynamodb.ITable, actions: string[]): void {
  table.grant(fn.function, ...actions);
}

/** The registered buckets: the prop, else the context value (a JSON list or comma-separated names). */
export function triggerBucketsOf(scope: Construct, prop: string[] | undefined): string[] {
  const raw = prop ?? (scope.node.tryGetContext(TRIGGER_BUCKETS_CONTEXT) as unknown);
  if (raw === undefined || raw === '') return [];
  let names: unknown = raw;
  if (typeof raw === 'string') {
    names = raw.trim().startsWith('[') ? (JSON.parse(raw) as unknown) : raw.split(',').map((n) => n.trim());
  }
  // The bucket rule of s3 listeners' match: a bucket registered here is one a listener can name.
  if (!Array.isArray(names) || names.some((n) => !s3Match.shape.bucket.safeParse(n).success)) {
    throw new Error(
      `${TRIGGER_BUCKETS_CONTEXT} must list S3 bucket names (3–63 lower-case letters, digits, . and -), ` +
        `got ${JSON.stringify(raw)}`,
    );
  }
  return [...new Set(names as string[])];
}

/**
 * CDK turns on EventBridge notifications of buckets it does not own through one custom resource per
 * stack (BucketNotificationsHandler, AWS's own code): its findings are accepted here, with why.
 */
function acknowledgeBucketNotificationsHandler(stack: Stack): void {
  const handler = stack.node.tryFindChild('BucketNotificationsHandler050a0587b7544547bf325f094a3db834');
  if (handler === undefined) return;
  acknowledge(
    handler,
    'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    "CDK's bucket notifications handler (a deployment-time custom resource) writes its logs with the basic execution role.",
  );
  acknowledge(
    handler,
    'IAM5[Resource::*]',
    "CDK's bucket notifications handler calls s3:PutBucketNotification on buckets the stack does not own; " +
      'CDK grants it on "*" and it runs only while CloudFormation deploys.',
  );
}
