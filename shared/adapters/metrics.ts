/**
 * The Metrics port's adapters: CloudWatch embedded metric format through Powertools Metrics (the
 * Lambda functions), Prometheus text kept in memory (the local `GET /metrics`), and a no-op. The
 * names, units and dimensions are shared/observability/metric-names.ts.
 */
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { MetricUnit as PowertoolsUnit } from '@aws-lambda-powertools/metrics/types';
import { METRICS, METRICS_NAMESPACE, type MetricName } from '../observability/metric-names.js';
import { PrometheusRegistry } from '../observability/prometheus.js';
import type { Dimensions, Metrics } from '../ports/telemetry.js';

export { noMetrics } from './no-telemetry.js';

/** Metrics for `GET /metrics`: kept in memory for the life of the process, rendered on request. */
export interface PrometheusMetrics extends Metrics {
  /** The Prometheus text exposition format (text/plain; version=0.0.4). */
  render(): string;
}

export function createPrometheusMetrics(): PrometheusMetrics {
  const registry = new PrometheusRegistry();
  return {
    enabled: true,
    count: (name, dimensions = {}, value = 1) => registry.count(name, dimensions, value),
    observe: (name, value, dimensions = {}) => registry.observe(name, dimensions, value),
    flush: async () => {},
    render: () => registry.render(),
  };
}

/**
 * Embedded metric format: points are kept per dimension set during an invocation, and `flush` writes
 * one EMF line per dimension set (Powertools keeps up to 100 values of a metric in one line), so a
 * Lambda invocation that runs 50 steps writes a handful of lines, not 50.
 */
export function createEmfMetrics(
  options: { namespace?: string; serviceName?: string; metrics?: PowertoolsMetrics } = {},
): Metrics {
  const powertools =
    options.metrics ??
    new PowertoolsMetrics({
      namespace: options.namespace ?? process.env.POWERTOOLS_METRICS_NAMESPACE ?? METRICS_NAMESPACE,
      serviceName: options.serviceName ?? process.env.POWERTOOLS_SERVICE_NAME ?? 'flowrunner',
    });
  /** Dimension set (as JSON) → its points. */
  const pending = new Map<string, { dimensions: Dimensions; points: Array<[MetricName, number]> }>();
  const add = (name: MetricName, dimensions: Dimensions, value: number) => {
    const key = JSON.stringify(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
    let set = pending.get(key);
    if (!set) {
      set = { dimensions, points: [] };
      pending.set(key, set);
    }
    set.points.push([name, value]);
  };
  return {
    enabled: true,
    count: (name, dimensions = {}, value = 1) => add(name, dimensions, value),
    observe: (name, value, dimensions = {}) => add(name, dimensions, value),
    async flush() {
      for (const { dimensions, points } of pending.values()) {
        if (Object.keys(dimensions).length > 0) powertools.addDimensions(dimensions);
        for (const [name, value] of points) {
          powertools.addMetric(name, METRICS[name].unit as PowertoolsUnit, value);
        }
        powertools.publishStoredMetrics();
      }
      pending.clear();
    },
  };
}
