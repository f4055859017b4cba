/** Times, durations and statuses as people read them. */

export type RunStatus = 'queued' | 'running' | 'waiting' | 'paused' | 'completed' | 'failed' | 'canceled';

/** `3 d 4 h`, `2 h 5 min`, `12 s`, `340 ms`: the two largest units that matter. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [name, size] of units) {
    const count = Math.floor(rest / size);
    if (count > 0 || parts.length > 0) {
      if (count > 0) parts.push(`${count} ${name}`);
      rest -= count * size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ') || '0 s';
}

/** `2026-01-01 09:30:05` in the reader's time zone; the ISO text on hover is the exact one. */
export function when(iso: string | undefined): string {
  if (!iso) return '–';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** `5 min ago`, relative to `now`. */
export function ago(iso: string | undefined, now: number): string {
  if (!iso) return '–';
  const ms = now - Date.parse(iso);
  return ms < 5000 ? 'just now' : `${duration(ms)} ago`;
}

export const FINAL: ReadonlySet<string> = new Set(['completed', 'failed', 'canceled']);

/** The label of a run's status; a waiting run that waits for people says so. */
export function statusLabel(status: string, waitingFor?: readonly { type: string }[]): string {
  if (status === 'waiting' && waitingFor?.some((w) => w.type === 'form' || w.type === 'approval')) {
    return 'waiting for a person';
  }
  return status;
}
