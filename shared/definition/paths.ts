/** Paths into a workflow document, written the way people read them: `steps[3].config.fields[0].key`. */

/** One step of a path: a mapping key or a sequence index. */
export type PathSegment = string | number;
export type DocumentPath = readonly PathSegment[];

/** The path of the document itself; every other path names the field it is about. */
export const ROOT_PATH = '(root)';

const PLAIN_KEY = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;

/** `['steps', 3, 'next', 'approved']` → `steps[3].next.approved`; other keys are quoted: `static["two words"]`. */
export function formatPath(path: DocumentPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) text += text === '' ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text === '' ? ROOT_PATH : text;
}

/** A problem found in a document, before it is given its line and column. */
export interface Problem {
  path: DocumentPath;
  message: string;
}

const SEGMENT = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[]+)/y;

/**
 * The inverse of `formatPath`, for paths other modules report as text (`fields[0].pattern`). A
 * key written after a dot runs to the next `.` or `[`, so `cases.two words` keeps its space.
 */
export function parsePath(text: string): PathSegment[] {
  if (text === '' || text === ROOT_PATH) return [];
  const segments: PathSegment[] = [];
  let at = 0;
  while (at < text.length) {
    SEGMENT.lastIndex = at;
    const match = SEGMENT.exec(text);
    // Text that is not a path (a stray `[` or `.`) stays one key, so nothing of it is lost.
    if (!match) return [...segments, text.slice(at)];
    at = SEGMENT.lastIndex;
    if (match[1] !== undefined) segments.push(Number(match[1]));
    else if (match[2] !== undefined) segments.push(JSON.parse(match[2]) as string);
    else segments.push(match[3]!);
  }
  return segments;
}
