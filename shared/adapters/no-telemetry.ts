/** Telemetry and Metrics when they are off: no SDK loaded, nothing recorded, nothing exported. */
import { randomBytes } from 'node:crypto';
import type { Metrics, Span, Telemetry, TraceContext } from '../ports/telemetry.js';

/** Random W3C ids (16 bytes of trace id, 8 of span id), for runs when tracing is off too. */
export function randomTraceContext(): TraceContext {
  const bytes = randomBytes(24).toString('hex');
  return { trace_id: bytes.slice(0, 32), span_id: bytes.slice(32) };
}

export function randomSpanId(): string {
  return randomBytes(8).toString('hex');
}

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
