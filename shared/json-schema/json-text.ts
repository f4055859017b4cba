/**
 * What JSON.parse accepts but what reads the value afterwards cannot take: nesting so deep that the
 * readers that recurse (JSON.stringify, structuredClone, schema validation, the stores) overflow
 * their stack — 50,000 levels is 100 KB of text — and numbers beyond ±1.8e308, which JSON.parse turns
 * into Infinity and JSON.stringify later into null. Found in one pass over the text with a counter,
 * not a stack, so the check itself cannot overflow, and before JSON.parse, which took 0.26 GB and
 * 1 s for 8 MiB of brackets. Malformed text is left for JSON.parse to describe. Used on what
 * comes from outside: request and webhook bodies, `api_call` responses and models' answers.
 */

export type JsonTextProblem = { kind: 'depth'; at: number } | { kind: 'number'; at: number; token: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function isNumberChar(char: number): boolean {
  // digits, '+', '-', '.', 'e', 'E'
  return (
    (char >= DIGIT_0 && char <= DIGIT_9) ||
    char === 0x2b ||
    char === MINUS ||
    char === 0x2e ||
    char === 0x65 ||
    char === 0x45
  );
}

/**
 * The first place where `text` nests deeper than `maxDepth`, or (with `numbers`) holds a number
 * beyond what a double can; undefined when there is none.
 */
export function scanJsonText(
  text: string,
  maxDepth: number,
  options: { numbers: boolean } = { numbers: true },
): JsonTextProblem | undefined {
  let depth = 0;
  const length = text.length;
  for (let at = 0; at < length; at++) {
    const char = text.charCodeAt(at);
    if (char === QUOTE) {
      // Skip the string; a backslash escapes the character after it.
      for (at++; at < length; at++) {
        const inner = text.charCodeAt(at);
        if (inner === BACKSLASH) at++;
        else if (inner === QUOTE) break;
      }
    } else if (char === 0x5b || char === 0x7b) {
      depth++;
      if (depth > maxDepth) return { kind: 'depth', at };
    } else if (char === 0x5d || char === 0x7d) {
      depth--;
    } else if (options.numbers && (char === MINUS || (char >= DIGIT_0 && char <= DIGIT_9))) {
      const start = at;
      while (at + 1 < length && isNumberChar(text.charCodeAt(at + 1))) at++;
      const token = text.slice(start, at + 1);
      if (JSON_NUMBER.test(token) && !Number.isFinite(Number(token)))
        return { kind: 'number', at: start, token };
    }
  }
  return undefined;
}
