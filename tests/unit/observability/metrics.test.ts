/**
 * The Metrics port's adapters: the local Prometheus text parses and holds what was counted; the
 * embedded metric format that Powertools writes has the shape CloudWatch reads (one line per
 * dimension set, every metric declared with its unit, its values at the top level).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEmfMetrics, createPrometheusMetrics } from '../../../shared/adapters/metrics.js';
import { METRICS, METRICS_NAMESPACE, PROMETHEUS_PREFIX } from '../../../shared/observability/metric-names.js';
import { MAX_SERIES_PER_METRIC } from '../../../shared/observability/prometheus.js';
import { parsePrometheus } from '../../support/prometheus-text.js';

describe('createPrometheusMetrics', () => {
  it('declares every metric, and renders counters and histograms that parse', () => {
    const metrics = createPrometheusMetrics();
    metrics.count('runs_started');
    metrics.count('runs_started');
    metrics.count('runs_ended', { status: 'completed' });
    metrics.count('runs_ended', { status: 'failed' }, 3);
    metrics.observe('step_duration_ms', 12, { step_type: 'transform', result: 'completed' });
    metrics.observe('step_duration_ms', 700, { step_type: 'transform', result: 'completed' });
    metrics.count('ai_cost_usd', { model: 'gpt-4o-mini' }, 0.00025);
    const exposition = parsePrometheus(metrics.render());
    for (const [name, definition] of Object.entries(METRICS)) {
      const full = `${PROMETHEUS_PREFIX}${name}${definition.kind === 'counter' ? '_total' : ''}`;
      expect(exposition.types.get(full), full).toBe(definition.kind === 'counter' ? 'counter' : 'histogram');
    }
    expect(exposition.value('flowrunner_runs_started_total')).toBe(2);
    expect(exposition.value('flowrunner_runs_ended_total', { status: 'failed' })).toBe(3);
    expect(exposition.value('flowrunner_ai_cost_usd_total', { model: 'gpt-4o-mini' })).toBe(0.00025);
    const labels = { step_type: 'transform', result: 'completed' };
    expect(exposition.value('flowrunner_step_duration_ms_count', labels)).toBe(2);
    expect(exposition.value('flowrunner_step_duration_ms_sum', labels)).toBe(712);
    expect(exposition.value('flowrunner_step_duration_ms_bucket', { ...labels, le: '25' })).toBe(1);
    expect(exposition.value('flowrunner_step_duration_ms_bucket', { ...labels, le: '1000' })).toBe(2);
    expect(exposition.value('flowrunner_step_duration_ms_bucket', { ...labels, le: '+Inf' })).toBe(2);
  });

  it('escapes label values that hold quotes, backslashes and newlines', () => {
    const metrics = createPrometheusMetrics();
    const model = 'a"b\\c\nd';
    metrics.count('ai_tokens_input', { model }, 5);
    expect(parsePrometheus(metrics.render()).value('flowrunner_ai_tokens_input_total', { model })).toBe(5);
  });

  it('stays bounded when a label never stops taking new values', () => {
    const metrics = createPrometheusMetrics();
    for (let i = 0; i < MAX_SERIES_PER_METRIC * 5; i++)
      metrics.count('ai_tokens_input', { model: `m-${i}` }, 1);
    const exposition = parsePrometheus(metrics.render());
    const series = exposition.samples.filter((s) => s.name === 'flowrunner_ai_tokens_input_total');
    expect(series).toHaveLength(MAX_SERIES_PER_METRIC + 1);
    // Nothing is lost: the overflow is counted under `_other`.
    expect(series.reduce((sum, s) => sum + s.value, 0)).toBe(MAX_SERIES_PER_METRIC * 5);
    expect(exposition.value('flowrunner_ai_tokens_input_total', { model: '_other' })).toBe(
      MAX_SERIES_PER_METRIC * 4,
    );
  });

  it('keeps one series per label set, whatever the order of the labels', () => {
    const metrics = createPrometheusMetrics();
    metrics.observe('step_duration_ms', 1, { step_type: 'form', result: 'waiting' });
    metrics.observe('step_duration_ms', 1, { result: 'waiting', step_type: 'form' });
    const exposition = parsePrometheus(metrics.render());
    expect(exposition.samples.filter((s) => s.name === 'flowrunner_step_duration_ms_count')).toHaveLength(1);
  });
});

describe('createEmfMetrics', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes one EMF line per dimension set on flush, in the shape CloudWatch reads', async () => {
    const lines: string[] = [];
    // Powertools writes EMF with a Console of its own on stdout.
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(
        ...String(chunk)
          .split('\n')
          .filter((line) => line !== ''),
      );
      return true;
    });
    const metrics = createEmfMetrics({ namespace: METRICS_NAMESPACE, serviceName: 'flowrunner' });
    metrics.count('runs_started');
    metrics.count('runs_ended', { status: 'completed' });
    metrics.observe('step_duration_ms', 12.5, { step_type: 'transform', result: 'completed' });
    metrics.observe('step_duration_ms', 30, { result: 'completed', step_type: 'transform' });
    expect(lines).toEqual([]);
    await metrics.flush();
    expect(lines).toHaveLength(3);
    const documents = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const document of documents) {
      const aws = document._aws as {
        Timestamp: number;
        CloudWatchMetrics: Array<{
          Namespace: string;
          Dimensions: string[][];
          Metrics: Array<{ Name: string; Unit: string }>;
        }>;
      };
      expect(typeof aws.Timestamp).toBe('number');
      expect(aws.CloudWatchMetrics).toHaveLength(1);
      const [directive] = aws.CloudWatchMetrics;
      expect(directive!.Namespace).toBe(METRICS_NAMESPACE);
      // Every dimension and every metric a directive names is a top-level member of the document.
      for (const name of directive!.Dimensions.flat()) expect(typeof document[name]).toBe('string');
      for (const metric of directive!.Metrics) {
        expect(METRICS[metric.Name as keyof typeof METRICS].unit).toBe(metric.Unit);
        expect(document[metric.Name]).toBeDefined();
      }
    }
    const steps = documents.find((d) => d.step_type === 'transform')!;
    expect(steps.step_duration_ms).toEqual([12.5, 30]);
    expect(steps.result).toBe('completed');
    expect(documents.find((d) => d.status === 'completed')!.runs_ended).toBe(1);
    lines.length = 0;
    await metrics.flush();
    expect(lines).toEqual([]);
  });
});
