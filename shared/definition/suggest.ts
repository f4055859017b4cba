/** Near-miss suggestions for names an author mistyped: step ids, services, step types. */

/** Beyond this many names, looking for a near miss costs more than it helps. */
const MAX_SUGGESTION_CANDIDATES = 200;

/**
 * The known name closest to `name` when it is a plausible typo of it: at most a third of its
 * length in edits (a swap of two neighbouring letters counts as one), else undefined.
 */
export function nearestName(name: string, names: readonly string[]): string | undefined {
  if (names.length > MAX_SUGGESTION_CANDIDATES) return undefined;
  const limit = Math.floor(name.length / 3);
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of names) {
    if (candidate === name) continue;
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** "did you mean 'x'?" for a near miss, else the list of names (the first few). */
export function suggest(name: string, names: readonly string[], listLabel: string): string {
  const close = nearestName(name, names);
  if (close !== undefined) return `did you mean '${close}'?`;
  if (names.length === 0) return `${listLabel}: none`;
  const shown = names.slice(0, 10).join(', ');
  return names.length > 10
    ? `${listLabel}: ${shown}, … (${names.length - 10} more)`
    : `${listLabel}: ${shown}`;
}

/** Levenshtein distance with transpositions (optimal string alignment); Infinity when the lengths differ by more than 3. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return Number.POSITIVE_INFINITY;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, before[j - 2]! + 1);
      }
      current[j] = distance;
    }
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}
