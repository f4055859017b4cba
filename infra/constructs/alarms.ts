/** Alarms on what carries runs: failed and timed-out executions, and errors and throttles of the run functions. */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { FlowFunction } from './flow-function.js';

export interface AlarmsProps {
  stateMachine: sfn.IStateMachine;
  /** The functions to watch, by the name their alarms and descriptions give them. */
  functions: Record<string, FlowFunction>;
}

export class Alarms extends Construct {
  public readonly all: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string) => {
      this.all.push(
        new cloudwatch.Alarm(this, alarmId, {
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
  }
}
