/**
 * A trace as a waterfall, in text and SVG, from its exported spans: each span on its own row under
 * its parent (children in start order), a bar from its start to its end on one time axis. The
 * picture of docs/observability.md is drawn by scripts/trace-waterfall.ts with these functions.
 */

export interface WaterfallSpan {
  spanId: string;
  parentSpanId?: string;
  name: string;
  /** ms since the epoch */
  start: number;
  end: number;
  /** Shown after the name (a step id, a status). */
  note?: string;
}

interface Row {
  span: WaterfallSpan;
  depth: number;
}

/** The spans in tree order; a span whose parent is not among them is a root. */
export function waterfallRows(spans: readonly WaterfallSpan[]): Row[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | undefined, WaterfallSpan[]>();
  for (const span of spans) {
    const parent = span.parentSpanId && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const rows: Row[] = [];
  const visit = (parent: string | undefined, depth: number) => {
    const list = [...(children.get(parent) ?? [])].sort((a, b) => a.start - b.start || a.end - b.end);
    for (const span of list) {
      rows.push({ span, depth });
      visit(span.spanId, depth + 1);
    }
  };
  visit(undefined, 0);
  return rows;
}

function label(row: Row): string {
  return `${'  '.repeat(row.depth)}${row.span.name}${row.span.note ? ` (${row.span.note})` : ''}`;
}

function duration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}

/** Fixed-width text: the tree of names, a bar scaled to `width` columns, the duration. */
export function waterfallText(spans: readonly WaterfallSpan[], width = 60): string {
  const rows = waterfallRows(spans);
  if (rows.length === 0) return '';
  const t0 = Math.min(...rows.map((r) => r.span.start));
  const t1 = Math.max(...rows.map((r) => r.span.end));
  const scale = width / Math.max(1, t1 - t0);
  const names = Math.max(...rows.map((r) => label(r).length));
  return `${rows
    .map((row) => {
      const from = Math.min(width - 1, Math.floor((row.span.start - t0) * scale));
      const to = Math.max(from + 1, Math.min(width, Math.ceil((row.span.end - t0) * scale)));
      const bar = `${' '.repeat(from)}${'█'.repeat(to - from)}${' '.repeat(width - to)}`;
      return `${label(row).padEnd(names)} │${bar}│ ${duration(row.span.end - row.span.start)}`;
    })
    .join('\n')}\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A standalone SVG of the same waterfall. */
export function waterfallSvg(spans: readonly WaterfallSpan[]): string {
  const rows = waterfallRows(spans);
  const t0 = Math.min(...rows.map((r) => r.span.start));
  const t1 = Math.max(...rows.map((r) => r.span.end));
  const labelWidth = 330;
  const barWidth = 560;
  const rowHeight = 22;
  const height = rows.length * rowHeight + 40;
  const scale = barWidth / Math.max(1, t1 - t0);
  const parts = rows.map((row, i) => {
    const y = 30 + i * rowHeight;
    const x = labelWidth + (row.span.start - t0) * scale;
    const w = Math.max(2, (row.span.end - row.span.start) * scale);
    return [
      `<text x="${8 + row.depth * 14}" y="${y + 15}">${escapeXml(row.span.name)}${row.span.note ? ` <tspan fill="#666">${escapeXml(row.span.note)}</tspan>` : ''}</text>`,
      `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="14" rx="2" fill="${row.depth === 0 ? '#4c6ef5' : '#74c0fc'}"/>`,
      `<text x="${Math.min(labelWidth + barWidth + 6, x + w + 4).toFixed(1)}" y="${y + 15}" fill="#444">${duration(row.span.end - row.span.start)}</text>`,
    ].join('');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="title" width="${labelWidth + barWidth + 90}" height="${height}" font-family="monospace" font-size="12">`,
    `<title id="title">The spans of one run's trace as a waterfall (${rows.length} spans)</title>`,
    '<rect width="100%" height="100%" fill="#fff"/>',
    `<text x="8" y="18" font-weight="bold">One run, one trace (${duration(t1 - t0)})</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
