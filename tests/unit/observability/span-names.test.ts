/** What a request tells the trace: the caller's traceparent (only a valid one) and a route without ids or tokens. */
import { describe, expect, it } from 'vitest';
import { parseTraceparent, routeOf } from '../../../shared/observability/span-names.js';
import { waterfallRows, waterfallText } from '../../../shared/observability/waterfall.js';

describe('parseTraceparent', () => {
  it('reads a W3C traceparent', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    });
    expect(parseTraceparent(' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00 ')?.trace_id).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['short trace id', '00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01'],
    ['not hex', '00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['an unknown version', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'],
    ['huge', `00-${'a'.repeat(100_000)}-00f067aa0ba902b7-01`],
    ['injected', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\nx-api-key: k'],
  ])('ignores a %s header', (_, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });
});

describe('routeOf', () => {
  it.each([
    ['/v1/executions/run_abc', '/v1/executions/{id}'],
    ['/v1/executions/run_abc/resume', '/v1/executions/{id}/resume'],
    ['/v1/executions/run_abc/artifacts/report.pdf', '/v1/executions/{id}/artifacts/{id}'],
    ['/v1/callbacks/Qm9vdHN0cmFwLXRva2VuLXRoaXJ0eS10d28tYnl0ZXM', '/v1/callbacks/{id}'],
    ['/v1/workflows/validate', '/v1/workflows/validate'],
    ['/v1/workflows/onboarding/versions', '/v1/workflows/{id}/versions'],
    ['/v1/hooks/lst_1?token=abc', '/v1/hooks/{id}'],
    ['/healthz', '/healthz'],
  ])('names %s as %s', (path, route) => {
    expect(routeOf(path)).toBe(route);
  });
});

describe('waterfall', () => {
  const spans = [
    { spanId: 'b', parentSpanId: 'a', name: 'advance', start: 10, end: 40 },
    { spanId: 'a', name: 'run', start: 0, end: 100 },
    { spanId: 'c', parentSpanId: 'b', name: 'step form', start: 12, end: 13, note: 'ask' },
    { spanId: 'd', parentSpanId: 'gone', name: 'orphan', start: 50, end: 60 },
  ];

  it('orders spans as a tree, children by start, and makes orphans roots', () => {
    expect(waterfallRows(spans).map((r) => [r.span.name, r.depth])).toEqual([
      ['run', 0],
      ['advance', 1],
      ['step form', 2],
      ['orphan', 0],
    ]);
  });

  it('draws one bar per span on one time axis', () => {
    const lines = waterfallText(spans, 10).trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('│██████████│ 100.0 ms');
    expect(lines[1]).toContain('│ ███      │ 30.0 ms');
    expect(lines[2]).toContain('step form (ask)');
  });
});
