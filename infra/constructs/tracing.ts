/**
 * Traces and metrics settings of a function (CONTRACT §10): the EMF namespace and service, and, when
 * tracing is asked for, the OTLP endpoint and optionally the ADOT collector layer that receives the
 * spans on localhost:4318 inside the function's sandbox and forwards them (no auto-instrumentation
 * agent: it slows cold starts 2–4×; the code creates its spans through the Telemetry port).
 */
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { METRICS_NAMESPACE } from '../../shared/observability/metric-names.js';
import type { FlowFunction } from './flow-function.js';

export interface TracingOptions {
  /**
   * The ADOT collector layer's ARN (`arn:aws:lambda:<region>:901920570463:layer:aws-otel-collector-arm64-ver-…`):
   * added to every function, and the endpoint defaults to it (http://localhost:4318).
   */
  collectorLayerArn?: string;
  /** Where spans go (OTEL_EXPORTER_OTLP_ENDPOINT): a collector reachable from the functions. */
  endpoint?: string;
  /** Default http/protobuf. */
  protocol?: 'http/protobuf' | 'http/json';
  /** The collector's configuration (OPENTELEMETRY_COLLECTOR_CONFIG_URI: an s3:// or https:// URI, or a file in a layer). */
  collectorConfigUri?: string;
}

/** Sets what the function needs for metrics always, and for traces when `tracing` asks for them. */
export function bindObservability(fn: FlowFunction, service: string, tracing: TracingOptions = {}): void {
  fn.addEnvironment('POWERTOOLS_SERVICE_NAME', service);
  fn.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', METRICS_NAMESPACE);
  const endpoint = tracing.endpoint ?? (tracing.collectorLayerArn ? 'http://localhost:4318' : undefined);
  if (!endpoint) return;
  fn.addEnvironment('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint);
  fn.addEnvironment('OTEL_EXPORTER_OTLP_PROTOCOL', tracing.protocol ?? 'http/protobuf');
  fn.addEnvironment('OTEL_SERVICE_NAME', service);
  if (tracing.collectorConfigUri)
    fn.addEnvironment('OPENTELEMETRY_COLLECTOR_CONFIG_URI', tracing.collectorConfigUri);
  if (tracing.collectorLayerArn) {
    fn.function.addLayers(
      lambda.LayerVersion.fromLayerVersionArn(fn, 'CollectorLayer', tracing.collectorLayerArn),
    );
  }
}
