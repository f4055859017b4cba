/**
 * A CloudWatch dashboard of one installation: its runs (started, ended by status), steps (duration by
 * type), people (time to answer), AI (tokens and cost by model), triggers (fired, deduplicated,
 * skipped), signals (delivery latency), and the functions and state machine that carry them. The run
 * metrics are the EMF metrics of shared/observability/metric-names.ts; a widget of a dimension with
 * open values (step type, model) is a SEARCH, so new values appear without a deploy.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS, METRICS_NAMESPACE, type MetricName } from '../../shared/observability/metric-names.js';
import type { FlowFunction } from './flow-function.js';

/** One run metric of an installation (`service` is the dimension Powertools adds: the installation's prefix). */
export function runMetric(
  service: string,
  name: MetricName,
  dimensions: Record<string, string> = {},
  options: cloudwatch.MetricOptions = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service, ...dimensions },
    period: Duration.minutes(5),
    statistic: METRICS[name].kind === 'counter' ? 'Sum' : 'p90',
    ...options,
  });
}

/** Every series of a metric over one open dimension (step_type, model, …), as a SEARCH expression. */
function searchMetric(
  service: string,
  name: MetricName,
  statistic: string,
  label: string,
): cloudwatch.MathExpression {
  const dimensions = ['service', ...METRICS[name].dimensions].join(',');
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},${dimensions}} MetricName="${name}" service="${service}"', '${statistic}', 300)`,
    label,
    period: Duration.minutes(5),
  });
}

export interface DashboardProps {
  /** The installation's prefix: the dashboard's name and the `service` dimension. */
  service: string;
  stateMachine: sfn.IStateMachine;
  functions: Record<string, FlowFunction>;
}

export class Dashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    const { service } = props;
    const width = 8;
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${service}-runs`,
      defaultInterval: Duration.hours(24),
    });
    this.dashboard.addWidgets(
      graph('Runs started and ended', [
        runMetric(service, 'runs_started', {}, { label: 'started' }),
        ...['completed', 'failed', 'canceled'].map((status) =>
          runMetric(service, 'runs_ended', { status }, { label: status }),
        ),
      ]),
      graph('Step duration p90 (ms) by type', [searchMetric(service, 'step_duration_ms', 'p90', 'p90')]),
      graph('Time people take to answer, p50 (s)', [
        ...['form', 'approval'].map((kind) =>
          runMetric(service, 'answer_time_s', { wait_kind: kind }, { statistic: 'p50', label: kind }),
        ),
      ]),
    );
    this.dashboard.addWidgets(
      graph('AI tokens by model', [
        searchMetric(service, 'ai_tokens_input', 'Sum', 'input'),
        searchMetric(service, 'ai_tokens_output', 'Sum', 'output'),
      ]),
      graph('AI cost (USD) by model', [searchMetric(service, 'ai_cost_usd', 'Sum', 'cost')]),
      graph('Triggers', [
        searchMetric(service, 'triggers_fired', 'Sum', 'fired'),
        searchMetric(service, 'triggers_deduplicated', 'Sum', 'deduplicated'),
        searchMetric(service, 'triggers_skipped', 'Sum', 'skipped'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Signal delivery latency p90 (ms)', [
        searchMetric(service, 'signal_delivery_latency_ms', 'p90', 'p90'),
      ]),
      graph(
        'Functions: errors and throttles',
        Object.entries(props.functions).flatMap(([name, fn]) => [
          fn.function.metricErrors({ label: `${name} errors`, statistic: 'Sum' }),
          fn.function.metricThrottles({ label: `${name} throttles`, statistic: 'Sum' }),
        ]),
      ),
      graph('Executions', [
        props.stateMachine.metricStarted({ label: 'started', statistic: 'Sum' }),
        props.stateMachine.metricFailed({ label: 'failed', statistic: 'Sum' }),
        props.stateMachine.metricTimedOut({ label: 'timed out', statistic: 'Sum' }),
      ]),
    );
  }
}
