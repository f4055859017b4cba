/**
 * A Lambda container is frozen when its invocation returns: the flushObservability middleware must
 * have exported the spans and written the metrics by then, whichever way the handler ended, and a
 * collector that fails must not fail the invocation.
 */
import middy from '@middy/core';
import { describe, expect, it } from 'vitest';
import { flushObservability } from '../../../functions/observability.js';
import { noMetrics, noTelemetry } from '../../../shared/adapters/no-telemetry.js';
import type { Metrics, Telemetry } from '../../../shared/ports/telemetry.js';

function recording(fail = false) {
  const order: string[] = [];
  const slow = (what: string) => async () => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    order.push(what);
    if (fail) throw new Error(`${what} is down`);
  };
  const telemetry: Telemetry = { ...noTelemetry, enabled: true, flush: slow('spans') };
  const metrics: Metrics = { ...noMetrics, enabled: true, flush: slow('metrics') };
  return { order, telemetry, metrics };
}

describe('flushObservability', () => {
  it('flushes spans and metrics before the invocation returns', async () => {
    const { order, telemetry, metrics } = recording();
    const handler = middy(async () => {
      order.push('handler');
      return 'answer';
    }).use(flushObservability({ telemetry: Promise.resolve(telemetry), metrics }));
    expect(await handler({}, {} as never)).toBe('answer');
    order.push('returned');
    expect(order.slice(0, 1)).toEqual(['handler']);
    expect(order.slice(1, 3).sort()).toEqual(['metrics', 'spans']);
    expect(order[3]).toBe('returned');
  });

  it('flushes when the handler fails, and the error still reaches the caller', async () => {
    const { order, telemetry, metrics } = recording();
    const handler = middy(async () => {
      throw new Error('advance failed');
    }).use(flushObservability({ telemetry, metrics }));
    await expect(handler({}, {} as never)).rejects.toThrow('advance failed');
    expect(order.sort()).toEqual(['metrics', 'spans']);
  });

  it('answers even when the collector and the metrics fail', async () => {
    const { telemetry, metrics } = recording(true);
    const handler = middy(async () => 'answer').use(flushObservability({ telemetry, metrics }));
    expect(await handler({}, {} as never)).toBe('answer');
  });
});
