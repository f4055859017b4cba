/**
 * People in the loop on AWS (CONTRACT §8): mail through SES from one verified identity, with a grant
 * of `ses:SendEmail` on that identity alone, and a function that an EventBridge schedule runs every
 * minute to deliver the notifications that failed or were never delivered.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { LambdaEnvironment } from '../../functions/environment.js';
import {
  bindBucket,
  bindKeysSecret,
  bindSettings,
  bindStateMachine,
  bindTables,
  type DataTables,
} from './bindings.js';
import { FlowFunction } from './flow-function.js';
import { acknowledgeWildcardResource } from './nag.js';

export interface MailSettings {
  /** The sender as mail shows it: `Flowrunner <flow@example.com>`. */
  from: string;
  /** The SES identity that may send it: the domain (`example.com`) or the address. */
  identity: string;
}

/** The context keys that configure mail at deploy time (`cdk deploy -c flowrunner:mail-from=…`). */
export const MAIL_CONTEXT = { from: 'flowrunner:mail-from', identity: 'flowrunner:ses-identity' } as const;

/** Mail settings from the context; undefined when mail is not configured (nobody is mailed). */
export function mailSettingsOf(scope: Construct): MailSettings | undefined {
  const from = scope.node.tryGetContext(MAIL_CONTEXT.from) as string | undefined;
  const identity = scope.node.tryGetContext(MAIL_CONTEXT.identity) as string | undefined;
  if (!from && !identity) return undefined;
  if (!from || !identity) {
    throw new Error(`Set both ${MAIL_CONTEXT.from} and ${MAIL_CONTEXT.identity} (or neither)`);
  }
  return { from, identity };
}

/** The sender in the function's settings, and `ses:SendEmail` on that identity only. */
export function bindMail(fn: FlowFunction, mail: MailSettings | undefined): void {
  if (mail === undefined) return;
  fn.addEnvironment(LambdaEnvironment.mailFrom, mail.from);
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['ses:SendEmail'],
      resources: [
        Stack.of(fn).formatArn({ service: 'ses', resource: 'identity', resourceName: mail.identity }),
      ],
    }),
  );
}

/** Where personal links point: the console's public URL. */
export function bindPublicUrl(fn: FlowFunction, url: string): void {
  fn.addEnvironment(LambdaEnvironment.publicUrl, url);
}

export interface NotificationsProps {
  tables: DataTables;
  bucket: s3.IBucket;
  keysSecret: secretsmanager.ISecret;
  stateMachineArn: string;
  mail: MailSettings | undefined;
  publicUrl: string;
}

export class Notifications extends Construct {
  public readonly retry: FlowFunction;
  public readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.retry = new FlowFunction(this, 'Retry', {
      entry: 'functions/notify-retry.ts',
      description: 'Flowrunner notifications: delivers what failed or was never delivered',
      timeout: Duration.seconds(60),
      memorySize: 256,
    });
    // The outbox is in the runs table; runs are read to see whether a wait is still open; personal
    // tokens (tokens table) are derived again for the link.
    bindTables(this.retry, props.tables, {
      workflows: 'none',
      runs: 'readWrite',
      tokens: 'readWrite',
      listeners: 'none',
    });
    bindBucket(this.retry, props.bucket, 'none');
    bindKeysSecret(this.retry, props.keysSecret);
    bindStateMachine(this.retry, props.stateMachineArn, []);
    bindSettings(this.retry, { allowPrivateNetwork: false });
    bindMail(this.retry, props.mail);
    bindPublicUrl(this.retry, props.publicUrl);
    acknowledgeWildcardResource(
      this.retry,
      `${props.tables.runs.tableArn}/index/*`,
      "The runs table's own indexes, granted with the table (DynamoDB grants cover a table's indexes).",
    );
    acknowledgeWildcardResource(
      this.retry,
      `${props.tables.tokens.tableArn}/index/*`,
      "The tokens table's own indexes, granted with the table (it has none today).",
    );
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'Flowrunner: retry notifications that are due',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new targets.LambdaFunction(this.retry.function, { retryAttempts: 0 })],
    });
  }
}
