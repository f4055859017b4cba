/**
 * Alarms on what carries runs (failed and timed-out executions, errors and throttles of the
 * functions) and on the runs themselves (runs that failed), each sending to one SNS topic that users
 * subscribe to (e-mail, chat, paging). The topic is encrypted with a key of its own, which CloudWatch
 * may use to publish, and refuses plain HTTP.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { runMetric } from './dashboard.js';
import type { FlowFunction } from './flow-function.js';

export interface AlarmsProps {
  stateMachine: sfn.IStateMachine;
  /** The functions to watch, by the name their alarms and descriptions give them. */
  functions: Record<string, FlowFunction>;
  /** The `service` dimension of the run metrics (the installation's prefix). */
  service: string;
  /** Addresses subscribed to the alarm topic at deploy time (others can subscribe later). */
  emails?: readonly string[];
  /** Failed runs in 5 minutes that raise the alarm (default 1). */
  failedRunsThreshold?: number;
}

export class Alarms extends Construct {
  public readonly all: cloudwatch.Alarm[] = [];
  /** Every alarm (and its return to OK) is published here. */
  public readonly topic: sns.Topic;
  public readonly topicKey: kms.Key;
  readonly #action: SnsAction;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topicKey = new kms.Key(this, 'TopicKey', {
      description: 'Encrypts the Flowrunner alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch publishes alarms to an encrypted topic only with the use of its key.
    this.topicKey.grant(
      new iam.ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Flowrunner alarms',
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    for (const email of props.emails ?? [])
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
    const action = new SnsAction(this.topic);
    this.#action = action;

    const period = Duration.minutes(5);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string, threshold = 1) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.all.push(created);
    };

    // A failed run ends its execution in success (RunFailed): a failed execution is infrastructure trouble.
    alarm(
      'ExecutionsFailedAlarm',
      props.stateMachine.metricFailed({ period, statistic: 'Sum' }),
      'Executions of the Flowrunner state machine failed',
    );
    alarm(
      'ExecutionsTimedOutAlarm',
      props.stateMachine.metricTimedOut({ period, statistic: 'Sum' }),
      'Executions of the Flowrunner state machine timed out',
    );
    for (const [name, fn] of Object.entries(props.functions)) {
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
    // Runs that failed (an error no step handled): the workflows' own trouble, from the EMF metrics.
    alarm(
      'RunsFailedAlarm',
      runMetric(props.service, 'runs_ended', { status: 'failed' }, { period, statistic: 'Sum' }),
      'Flowrunner runs failed',
      props.failedRunsThreshold ?? 1,
    );
  }

  /** Sends an alarm made elsewhere (the triggers' dead letters) and its return to OK to the topic too. */
  watch(alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(this.#action);
    alarm.addOkAction(this.#action);
    this.all.push(alarm);
  }
}
