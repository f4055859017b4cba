/**
 * Makes a string that a simple regular expression matches, for the mock AI provider's answers.
 *
 * Understood: literals and escapes, `.`, classes (`[a-z0-9_]`, `[^…]`, `\d \w \s` and their
 * negations), groups (capturing, `(?:…)`, named), alternation, and the quantifiers `? * + {n} {n,}
 * {n,m}` (lazy or not). Anchors are ignored since the whole string is generated. Lookarounds,
 * back-references, `\b` and Unicode properties are not: for those the caller gets undefined.
 */

export type Random = () => number;

type Node =
  | { kind: 'chars'; set: CharSet }
  | { kind: 'literal'; text: string }
  | { kind: 'sequence'; items: Node[] }
  | { kind: 'choice'; options: Node[] }
  | { kind: 'repeat'; node: Node; min: number; max: number };

interface CharSet {
  ranges: Array<[number, number]>;
  negated: boolean;
}

class Unsupported extends Error {}

const DIGITS: Array<[number, number]> = [[0x30, 0x39]];
const WORD: Array<[number, number]> = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
const SPACE: Array<[number, number]> = [
  [0x20, 0x20],
  [0x09, 0x0d],
];
/** What `.` and negated classes choose from: printable ASCII, so answers stay readable. */
const PRINTABLE: [number, number] = [0x21, 0x7e];
/** How many extra repetitions `*`, `+` and `{n,}` may add. */
const OPEN_REPEAT = 3;
/** The most repetitions a bounded quantifier such as `{1,100}` adds beyond its minimum. */
const MAX_EXTRA_REPEAT = 8;

class Parser {
  #i = 0;
  constructor(readonly source: string) {}

  parse(): Node {
    const node = this.#alternation();
    if (this.#i < this.source.length) throw new Unsupported(`unexpected ${this.source[this.#i]}`);
    return node;
  }

  #peek(): string | undefined {
    return this.source[this.#i];
  }

  #alternation(): Node {
    const options = [this.#sequence()];
    while (this.#peek() === '|') {
      this.#i++;
      options.push(this.#sequence());
    }
    return options.length === 1 ? options[0]! : { kind: 'choice', options };
  }

  #sequence(): Node {
    const items: Node[] = [];
    for (let c = this.#peek(); c !== undefined && c !== '|' && c !== ')'; c = this.#peek()) {
      const atom = this.#atom();
      items.push(this.#quantified(atom));
    }
    return { kind: 'sequence', items };
  }

  #atom(): Node {
    const c = this.source[this.#i++]!;
    switch (c) {
      case '^':
      case '$':
        return { kind: 'literal', text: '' };
      case '.':
        return { kind: 'chars', set: { ranges: [PRINTABLE], negated: false } };
      case '(':
        return this.#group();
      case '[':
        return { kind: 'chars', set: this.#class() };
      case '\\':
        return this.#escape();
      case '*':
      case '+':
      case '?':
      case '{':
        throw new Unsupported(`nothing to repeat before ${c}`);
      default:
        return { kind: 'literal', text: c };
    }
  }

  #group(): Node {
    if (this.#peek() === '?') {
      const kind = this.source.slice(this.#i, this.#i + 2);
      if (kind === '?:') this.#i += 2;
      else if (kind === '?<' && !['=', '!'].includes(this.source[this.#i + 2] ?? '')) {
        const end = this.source.indexOf('>', this.#i);
        if (end < 0) throw new Unsupported('unterminated group name');
        this.#i = end + 1;
      } else throw new Unsupported('lookarounds are not supported');
    }
    const node = this.#alternation();
    if (this.source[this.#i++] !== ')') throw new Unsupported('unterminated group');
    return node;
  }

  #class(): CharSet {
    const set: CharSet = { ranges: [], negated: false };
    if (this.#peek() === '^') {
      set.negated = true;
      this.#i++;
    }
    while (this.#peek() !== ']') {
      if (this.#peek() === undefined) throw new Unsupported('unterminated class');
      const start = this.#classAtom();
      if (Array.isArray(start)) {
        set.ranges.push(...start);
        continue;
      }
      if (
        this.#peek() === '-' &&
        this.source[this.#i + 1] !== ']' &&
        this.source[this.#i + 1] !== undefined
      ) {
        this.#i++;
        const end = this.#classAtom();
        if (Array.isArray(end) || end < start) throw new Unsupported('bad range');
        set.ranges.push([start, end]);
      } else set.ranges.push([start, start]);
    }
    this.#i++;
    return set;
  }

  /** One member of a class: a code point, or the ranges of a shorthand such as `\d`. */
  #classAtom(): number | Array<[number, number]> {
    const c = this.source.codePointAt(this.#i)!;
    this.#i += c > 0xffff ? 2 : 1;
    if (c !== 0x5c) return c;
    const node = this.#escape();
    if (node.kind === 'chars') {
      if (node.set.negated) throw new Unsupported('negated shorthand in a class');
      return node.set.ranges;
    }
    if (node.kind === 'literal') return node.text.codePointAt(0)!;
    throw new Unsupported('escape in a class');
  }

  #escape(): Node {
    const c = this.source[this.#i++];
    if (c === undefined) throw new Unsupported('trailing backslash');
    const chars = (ranges: Array<[number, number]>, negated = false): Node => ({
      kind: 'chars',
      set: { ranges, negated },
    });
    switch (c) {
      case 'd':
        return chars(DIGITS);
      case 'D':
        return chars(DIGITS, true);
      case 'w':
        return chars(WORD);
      case 'W':
        return chars(WORD, true);
      case 's':
        return chars(SPACE);
      case 'S':
        return chars(SPACE, true);
      case 'n':
        return { kind: 'literal', text: '\n' };
      case 't':
        return { kind: 'literal', text: '\t' };
      case 'r':
        return { kind: 'literal', text: '\r' };
      case 'x':
      case 'u': {
        const match = /^(?:\{([0-9a-fA-F]+)\}|([0-9a-fA-F]{4}))/.exec(this.source.slice(this.#i));
        const hex = c === 'x' ? this.source.slice(this.#i, this.#i + 2) : (match?.[1] ?? match?.[2]);
        if (!hex || !/^[0-9a-fA-F]+$/.test(hex)) throw new Unsupported(`bad \\${c} escape`);
        this.#i += c === 'x' ? 2 : match![0].length;
        return { kind: 'literal', text: String.fromCodePoint(Number.parseInt(hex, 16)) };
      }
      default:
        if (/[A-Za-z0-9]/.test(c)) throw new Unsupported(`\\${c} is not supported`);
        return { kind: 'literal', text: c };
    }
  }

  #quantified(node: Node): Node {
    let min: number;
    let max: number;
    const c = this.#peek();
    if (c === '*' || c === '+' || c === '?') {
      this.#i++;
      min = c === '+' ? 1 : 0;
      max = c === '?' ? 1 : min + OPEN_REPEAT;
    } else if (c === '{') {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.#i));
      if (!match) return node;
      this.#i += match[0].length;
      min = Number(match[1]);
      max = match[2] === undefined ? min : match[3] === '' ? min + OPEN_REPEAT : Number(match[3]);
      if (max < min) throw new Unsupported('bad repeat');
      max = Math.min(max, min + MAX_EXTRA_REPEAT);
    } else return node;
    if (this.#peek() === '?') this.#i++;
    return { kind: 'repeat', node, min, max };
  }
}

function pickChar(set: CharSet, random: Random): string {
  const inSet = (code: number) => set.ranges.some(([lo, hi]) => code >= lo && code <= hi);
  if (set.negated) {
    const allowed: number[] = [];
    for (let code = PRINTABLE[0]; code <= PRINTABLE[1]; code++) if (!inSet(code)) allowed.push(code);
    if (allowed.length === 0) throw new Unsupported('empty class');
    return String.fromCodePoint(allowed[Math.floor(random() * allowed.length)]!);
  }
  const total = set.ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
  if (total === 0) throw new Unsupported('empty class');
  let index = Math.floor(random() * total);
  for (const [lo, hi] of set.ranges) {
    const size = hi - lo + 1;
    if (index < size) return String.fromCodePoint(lo + index);
    index -= size;
  }
  throw new Unsupported('empty class');
}

function generate(node: Node, random: Random): string {
  switch (node.kind) {
    case 'literal':
      return node.text;
    case 'chars':
      return pickChar(node.set, random);
    case 'sequence':
      return node.items.map((item) => generate(item, random)).join('');
    case 'choice':
      return generate(node.options[Math.floor(random() * node.options.length)]!, random);
    case 'repeat': {
      const count = node.min + Math.floor(random() * (node.max - node.min + 1));
      let text = '';
      for (let i = 0; i < count; i++) text += generate(node.node, random);
      return text;
    }
  }
}

/** A string matching `pattern` (checked with the `u` flag), or undefined when the pattern is beyond this generator. */
export function sampleRegex(pattern: string, random: Random, tries = 5): string | undefined {
  let tree: Node;
  let regex: RegExp;
  try {
    regex = new RegExp(pattern, 'u');
    tree = new Parser(pattern).parse();
  } catch {
    return undefined;
  }
  for (let i = 0; i < tries; i++) {
    try {
      const text = generate(tree, random);
      if (regex.test(text)) return text;
    } catch (error) {
      if (error instanceof Unsupported) return undefined;
      throw error;
    }
  }
  return undefined;
}
