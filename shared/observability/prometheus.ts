/**
 * Metrics kept in memory and written in the Prometheus text exposition format (version 0.0.4), for
 * the local `GET /metrics`. Counters get the `_total` suffix, distributions are histograms
 * (`_bucket`, `_sum`, `_count`); every name has the `flowrunner_` prefix (metric-names.ts).
 */
import { METRICS, type MetricDefinition, type MetricName, PROMETHEUS_PREFIX } from './metric-names.js';

interface Series {
  labels: Record<string, string>;
  /** Counter: the total. Histogram: the sum. */
  value: number;
  count: number;
  buckets: number[];
}

/**
 * Series kept per metric: a label whose values never stop coming (a model name a provider makes up)
 * would otherwise grow the process without end. Points beyond it go to one series whose labels say
 * `_other`.
 */
export const MAX_SERIES_PER_METRIC = 200;
const OTHER = '_other';

export class PrometheusRegistry {
  readonly #series = new Map<MetricName, Map<string, Series>>();

  count(name: MetricName, labels: Record<string, string>, value: number): void {
    this.#at(name, labels).value += value;
  }

  observe(name: MetricName, labels: Record<string, string>, value: number): void {
    const series = this.#at(name, labels);
    series.value += value;
    series.count += 1;
    const bounds = bucketsOf(name);
    for (let i = 0; i < bounds.length; i++) if (value <= bounds[i]!) series.buckets[i]! += 1;
  }

  /** The text format: HELP and TYPE for every metric (also those not seen yet), then its series. */
  render(): string {
    const lines: string[] = [];
    for (const [name, definition] of Object.entries(METRICS) as [
      MetricName,
      (typeof METRICS)[MetricName],
    ][]) {
      const counter = definition.kind === 'counter';
      const full = `${PROMETHEUS_PREFIX}${name}${counter ? '_total' : ''}`;
      lines.push(`# HELP ${full} ${escapeHelp(definition.help)}`);
      lines.push(`# TYPE ${full} ${counter ? 'counter' : 'histogram'}`);
      for (const series of this.#series.get(name)?.values() ?? []) {
        if (counter) {
          lines.push(`${full}${labelText(series.labels)} ${series.value}`);
          continue;
        }
        const bounds = bucketsOf(name);
        bounds.forEach((bound, i) => {
          lines.push(
            `${full}_bucket${labelText({ ...series.labels, le: String(bound) })} ${series.buckets[i]}`,
          );
        });
        lines.push(`${full}_bucket${labelText({ ...series.labels, le: '+Inf' })} ${series.count}`);
        lines.push(`${full}_sum${labelText(series.labels)} ${series.value}`);
        lines.push(`${full}_count${labelText(series.labels)} ${series.count}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  #at(name: MetricName, labels: Record<string, string>): Series {
    let byLabels = this.#series.get(name);
    if (!byLabels) {
      byLabels = new Map();
      this.#series.set(name, byLabels);
    }
    let key = labelText(labels);
    let series = byLabels.get(key);
    if (!series) {
      if (byLabels.size >= MAX_SERIES_PER_METRIC) {
        labels = Object.fromEntries(Object.keys(labels).map((k) => [k, OTHER]));
        key = labelText(labels);
        series = byLabels.get(key);
        if (series) return series;
      }
      series = { labels: { ...labels }, value: 0, count: 0, buckets: bucketsOf(name).map(() => 0) };
      byLabels.set(key, series);
    }
    return series;
  }
}

function bucketsOf(name: MetricName): readonly number[] {
  const definition: MetricDefinition = METRICS[name];
  return definition.buckets ?? [];
}

/** `{a="x",b="y"}` with keys sorted (one series per label set) and values escaped. */
function labelText(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
