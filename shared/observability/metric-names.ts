/**
 * Every metric Flowrunner emits, defined once: CloudWatch (embedded metric format) and the local
 * Prometheus `/metrics` use these names, units and dimensions (docs/observability.md). Dimensions
 * hold few values each; a run or workflow id would make one CloudWatch metric per run.
 */

export type MetricKind = 'counter' | 'distribution';
/** CloudWatch units the metrics use; Prometheus gets the unit in the name. */
export type MetricUnit = 'Count' | 'Milliseconds' | 'Seconds' | 'None';

export interface MetricDefinition {
  kind: MetricKind;
  unit: MetricUnit;
  dimensions: readonly string[];
  help: string;
  /** Upper bounds of the Prometheus histogram buckets, in the metric's unit. */
  buckets?: readonly number[];
}

const MS_BUCKETS = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000] as const;
const HUMAN_S_BUCKETS = [10, 30, 60, 300, 900, 3_600, 14_400, 86_400, 259_200, 604_800] as const;

export const METRICS = {
  runs_started: { kind: 'counter', unit: 'Count', dimensions: [], help: 'Runs created' },
  runs_ended: {
    kind: 'counter',
    unit: 'Count',
    dimensions: ['status'],
    help: 'Runs that reached a final status (completed, failed, canceled)',
  },
  step_duration_ms: {
    kind: 'distribution',
    unit: 'Milliseconds',
    dimensions: ['step_type', 'result'],
    help: 'Duration of one step attempt (result: completed, failed, waiting)',
    buckets: MS_BUCKETS,
  },
  answer_time_s: {
    kind: 'distribution',
    unit: 'Seconds',
    dimensions: ['wait_kind'],
    help: 'Time people take to answer a form or an approval',
    buckets: HUMAN_S_BUCKETS,
  },
  ai_tokens_input: {
    kind: 'counter',
    unit: 'Count',
    dimensions: ['model'],
    help: 'Prompt tokens of AI calls',
  },
  ai_tokens_output: {
    kind: 'counter',
    unit: 'Count',
    dimensions: ['model'],
    help: 'Output tokens of AI calls',
  },
  ai_cost_usd: {
    kind: 'counter',
    unit: 'None',
    dimensions: ['model'],
    help: 'Cost of AI calls in US dollars (models with a known price)',
  },
  triggers_fired: {
    kind: 'counter',
    unit: 'Count',
    dimensions: ['listener_type'],
    help: 'Listener deliveries that started a run',
  },
  triggers_deduplicated: {
    kind: 'counter',
    unit: 'Count',
    dimensions: ['listener_type'],
    help: 'Deliveries of an event a listener had already started a run for',
  },
  triggers_skipped: {
    kind: 'counter',
    unit: 'Count',
    dimensions: ['listener_type'],
    help: 'Deliveries that started nothing (overlap: skip, a disabled listener)',
  },
  signal_delivery_latency_ms: {
    kind: 'distribution',
    unit: 'Milliseconds',
    dimensions: ['signal_type'],
    help: 'From a signal accepted into the inbox to Advance applying it',
    buckets: MS_BUCKETS,
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricName = keyof typeof METRICS;

/** The CloudWatch namespace (POWERTOOLS_METRICS_NAMESPACE overrides it) and the Prometheus prefix. */
export const METRICS_NAMESPACE = 'Flowrunner';
export const PROMETHEUS_PREFIX = 'flowrunner_';
