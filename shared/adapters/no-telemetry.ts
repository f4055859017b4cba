/** Telemetry and Metrics when they are off: no SDK loaded, nothing recorded, nothing exported. */
import type { Metrics, Span, Telemetry } from '../ports/telemetry.js';
import { randomTraceContext } from './trace-ids.js';

/** Tracing off: runs still get trace ids (for log lines), and nothing else happens. */
export const noTelemetry: Telemetry = {
  enabled: false,
  newTrace: randomTraceContext,
  childTrace: randomTraceContext,
  startSpan: () => NO_SPAN,
  under: () => noTelemetry,
  withSpan: (_span, fn) => fn(),
  active: () => undefined,
  flush: async () => {},
};

const NO_SPAN: Span = {
  context: { trace_id: '0'.repeat(32), span_id: '0'.repeat(16) },
  setAttributes() {},
  fail() {},
  end() {},
};

/** Metrics off: every call returns at once. */
export const noMetrics: Metrics = {
  enabled: false,
  count() {},
  observe() {},
  flush: async () => {},
};
