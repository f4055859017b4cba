/**
 * Traces and metrics of the Lambda functions (CONTRACT §10): OpenTelemetry exporting over OTLP/HTTP
 * to a collector (the optional ADOT layer, or any endpoint in `OTEL_EXPORTER_OTLP_ENDPOINT`), and
 * CloudWatch embedded metric format through Powertools Metrics. A Lambda container is frozen when its
 * invocation returns, so nothing may stay buffered: `flushObservability` exports the spans and writes
 * the metrics before every invocation returns, also when it fails.
 */
import type middy from '@middy/core';
import { createEmfMetrics } from '../shared/adapters/metrics.js';
import { telemetryFromEnv } from '../shared/adapters/otel-settings.js';
import type { Metrics, Telemetry } from '../shared/ports/telemetry.js';

/** Chosen once per container from the environment (a bad OTEL_* value fails the cold start, naming it). */
export const telemetry: Promise<Telemetry> = telemetryFromEnv(process.env);
export const metrics: Metrics = createEmfMetrics();

/** Middy middleware: flushes spans and metrics after the handler, whichever way it ended. */
export function flushObservability(
  ports: { telemetry: Promise<Telemetry> | Telemetry; metrics: Metrics } = { telemetry, metrics },
): middy.MiddlewareObj {
  const flush = async () => {
    // A collector that is down must not fail the invocation: the spans are lost, the run is not.
    await Promise.allSettled([(async () => (await ports.telemetry).flush())(), ports.metrics.flush()]);
  };
  return { after: flush, onError: flush };
}
