/**
 * A run's events on one strip that stays readable when the run waited days for a person: idle gaps
 * (longer than a minute and than a fifth of the run) are drawn at a fixed small width with their
 * length written on them, and the busy stretches share the rest in proportion to their time.
 */

export interface TimedEvent {
  seq: number;
  type: string;
  at: string;
}

export interface TimelinePoint<E extends TimedEvent> {
  event: E;
  /** 0–1 along the strip. */
  x: number;
}

export interface TimelineGap {
  /** Where the gap's marker sits (its middle), 0–1. */
  x: number;
  ms: number;
}

export interface Timeline<E extends TimedEvent> {
  points: TimelinePoint<E>[];
  gaps: TimelineGap[];
  /** From the first event to the last. */
  spanMs: number;
}

/** The width one compressed gap takes. */
export const GAP_WIDTH = 0.06;
const MIN_GAP_MS = 60_000;
const GAP_SHARE = 0.2;

export function compressTimeline<E extends TimedEvent>(events: readonly E[]): Timeline<E> {
  const sorted = [...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.seq - b.seq);
  if (sorted.length === 0) return { points: [], gaps: [], spanMs: 0 };
  const times = sorted.map((e) => Date.parse(e.at));
  const spanMs = times.at(-1)! - times[0]!;
  const deltas = times.slice(1).map((t, i) => t - times[i]!);
  const threshold = Math.max(MIN_GAP_MS, spanMs * GAP_SHARE);
  const isGap = deltas.map((d) => d > threshold);
  const gapCount = isGap.filter(Boolean).length;
  const busyMs = deltas.reduce((sum, d, i) => sum + (isGap[i] ? 0 : d), 0);
  const busyWidth = Math.max(0, 1 - gapCount * GAP_WIDTH);
  // Without busy time (all at once, or only gaps) the busy stretches share their width evenly.
  const busySteps = deltas.filter((_, i) => !isGap[i]).length;
  const widthOf = (d: number, i: number) =>
    isGap[i] ? GAP_WIDTH : busyMs > 0 ? (d / busyMs) * busyWidth : busySteps > 0 ? busyWidth / busySteps : 0;
  const points: TimelinePoint<E>[] = [{ event: sorted[0]!, x: 0 }];
  const gaps: TimelineGap[] = [];
  let x = 0;
  deltas.forEach((d, i) => {
    const width = widthOf(d, i);
    if (isGap[i]) gaps.push({ x: x + width / 2, ms: d });
    x += width;
    points.push({ event: sorted[i + 1]!, x: Math.min(1, x) });
  });
  // Only gaps and a single event: put the lone point at the start, leave the strip as it is.
  return { points, gaps, spanMs };
}
