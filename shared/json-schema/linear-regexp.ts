/**
 * Regular expressions from workflows (JSON Schema `pattern` and `patternProperties`, form field
 * patterns, JSONata regex literals), run in time linear in the text, so that no pattern and no
 * input can stall the process. A backtracking engine (V8's) takes seconds on `^(a+)+$` against 30
 * characters, and V8's own fallback to its linear engine leaves out the `u` and `i` flags.
 *
 * A pattern is read with the ECMAScript grammar (@eslint-community/regexpp), so what is valid and
 * what it means are JavaScript's, and rewritten for RE2 (re2js, a pure-JS port: a DFA/NFA engine
 * with no backtracking). Characters are written as `\x{…}` and `.`, `\s`, `\d`, `\w` as the exact
 * JavaScript sets; the few constructs that need backtracking (backreferences, lookahead,
 * lookbehind) are refused with a `PatternRefused` that says which and why.
 *
 * Differences from JavaScript that remain, all at the edges: text is matched by code point (as
 * with the `u` flag), so without `u` a pattern cannot split a surrogate pair; with `m`, lines end
 * at `\n` only; with `i`, letters fold by Unicode's simple case folding (JavaScript without `u`
 * uses upper-casing, which differs for a handful of letters such as `ſ` and the Kelvin sign).
 */
import { type AST, RegExpParser, RegExpSyntaxError } from '@eslint-community/regexpp';
import { RE2JS } from 're2js';

/** A pattern the linear-time engine cannot run (a backreference, a lookaround…); the message says which. */
export class PatternRefused extends SyntaxError {
  override readonly name = 'PatternRefused';
}

/** A match as JSONata and other callers read it: offsets in UTF-16 code units, like `RegExp#exec`. */
export interface LinearMatch {
  index: number;
  end: number;
  /** The whole match, then each capturing group (undefined when it did not take part). */
  groups: Array<string | undefined>;
}

/** A compiled pattern: `test` searches like `RegExp#test` (unanchored), in linear time. */
export class LinearRegExp {
  readonly source: string;
  readonly flags: string;
  readonly #re2: RE2JS;

  constructor(source: string, flags: string, re2: RE2JS) {
    this.source = source;
    this.flags = flags;
    this.#re2 = re2;
  }

  test(text: string): boolean {
    return this.#re2.test(text);
  }

  /** The first match that starts at or after `from`, or null. */
  matchFrom(text: string, from: number): LinearMatch | null {
    return this.searcher(text)(from);
  }

  /** Searches one text from several places, with one matcher (a new one per search costs more than the search). */
  searcher(text: string): (from: number) => LinearMatch | null {
    const matcher = this.#re2.matcher(text);
    return (from) => {
      if (from > text.length || !matcher.find(from)) return null;
      const groups: Array<string | undefined> = [];
      for (let i = 0; i <= matcher.groupCount(); i++) groups.push(matcher.group(i) ?? undefined);
      return { index: matcher.start(), end: matcher.end(), groups };
    };
  }

  /** Like a RegExp's: Ajv keys its compiled patterns by this text. */
  toString(): string {
    return `/${this.source}/${this.flags}`;
  }
}

const SUPPORTED_FLAGS = new Set(['d', 'g', 'i', 'm', 's', 'u']);

/** Bounded: patterns come from workflows, and every distinct one is kept until pushed out. */
const CACHE_LIMIT = 500;
const cache = new Map<string, LinearRegExp>();

/**
 * The compiled pattern, from the cache or compiled now. Throws a SyntaxError when the pattern is not
 * a valid JavaScript regular expression for these flags (the message is the one V8 would give), and
 * a `PatternRefused` when it is valid but cannot run in linear time.
 */
export function compileLinearRegExp(source: string, flags = ''): LinearRegExp {
  const key = `${flags}/${source}`;
  const cached = cache.get(key);
  if (cached) {
    cache.delete(key);
    cache.set(key, cached);
    return cached;
  }
  const compiled = compile(source, flags);
  cache.set(key, compiled);
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  return compiled;
}

/** undefined when the pattern compiles, else why not (a syntax error or a refusal). Never throws. */
export function linearRegExpProblem(source: string, flags = ''): string | undefined {
  try {
    compileLinearRegExp(source, flags);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * For patterns written for a RegExp without flags (form fields): the `u` grammar, which is
 * JSON Schema's, and where a pattern is only valid without it (`\_`, `[\w-.]`), the legacy one,
 * whose message a pattern valid in neither gets. Not for a pattern with `\p{…}` or `\u{…}`: without
 * `u` those are letters (`\p{Lettr}` would match "p{Lettr}"), so its mistake is reported instead.
 */
export function compileLenientPattern(source: string): LinearRegExp {
  try {
    return compileLinearRegExp(source, 'u');
  } catch (error) {
    if (error instanceof PatternRefused || /\\[pP]\{|\\u\{/.test(source)) throw error;
    return compileLinearRegExp(source, '');
  }
}

/** The `code.regExp` option of Ajv: every `pattern` and `patternProperties` key runs on this engine. */
export const ajvRegExpEngine = Object.assign(
  (pattern: string, flags: string): LinearRegExp => compileLinearRegExp(pattern, flags),
  // Only read when Ajv generates standalone code, which Flowrunner does not.
  { code: 'compileLinearRegExp' },
);

/**
 * JSONata's `RegexEngine` option: it constructs one per evaluation of a regex literal (`/…/i` in
 * `$match`, `$replace`, `$split`, `$contains`) from the literal's RegExp, then calls `exec` with
 * `lastIndex`, as with a global RegExp.
 */
export class LinearRegexEngine {
  lastIndex = 0;
  readonly #pattern: LinearRegExp;
  #text: string | undefined;
  #search: ((from: number) => LinearMatch | null) | undefined;

  constructor(regexp: RegExp) {
    this.#pattern = compileLinearRegExp(regexp.source, regexp.flags);
  }

  exec(text: string): RegExpExecArray | null {
    // `$match` and `$replace` walk one text match by match.
    if (this.#search === undefined || this.#text !== text) {
      this.#text = text;
      this.#search = this.#pattern.searcher(text);
    }
    const match = this.#search(this.lastIndex);
    if (match === null) {
      this.lastIndex = 0;
      return null;
    }
    this.lastIndex = match.end;
    return Object.assign(match.groups, { index: match.index, input: text }) as RegExpExecArray;
  }
}

const parser = new RegExpParser({ ecmaVersion: 2024 });

function compile(source: string, flags: string): LinearRegExp {
  for (const flag of flags) {
    if (!SUPPORTED_FLAGS.has(flag)) {
      throw new PatternRefused(
        `the regular expression flag '${flag}' is not supported (only d, g, i, m, s, u)`,
      );
    }
  }
  const unicode = flags.includes('u');
  let translated: string;
  try {
    const pattern = parser.parsePattern(source, 0, source.length, { unicode });
    translated = new Translator(source, flags.includes('s')).pattern(pattern);
  } catch (error) {
    if (error instanceof RegExpSyntaxError) throw new SyntaxError(error.message);
    if (error instanceof RangeError) throw new PatternRefused(`${show(source)} is nested too deeply`);
    throw error;
  }
  let re2Flags = 0;
  if (flags.includes('i')) re2Flags |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) re2Flags |= RE2JS.MULTILINE;
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(translated, re2Flags);
  } catch (error) {
    // What RE2 refuses beyond the translation: mostly size (repetition counts above 1000, nested).
    const reason = (error as Error).message.replace(/^error parsing regexp: /, '');
    throw new PatternRefused(
      `${show(source)} is too large or complex for the linear-time regex engine (${reason})`,
    );
  }
  if (re2.programSize() > MAX_PROGRAM_SIZE) {
    throw new PatternRefused(
      `${show(source)} is too large for the linear-time regex engine: it compiles to ${re2.programSize()} instructions, more than ${MAX_PROGRAM_SIZE} (repetition counts add up: for a length, use maxLength, min or max instead)`,
    );
  }
  return new LinearRegExp(source, flags, re2);
}

/**
 * Linear in the text, a search also grows with the size of the compiled program in the worst case
 * (counted repetitions that the DFA cannot keep, searched unanchored): about 0.5 µs per character
 * at 1,000 instructions (`(?:\S{245}){4}` on 200,000 characters, re2js 2.10, Node 20), 1.4 µs at
 * 2,000. The bound keeps a 1 MB text (the API's body limit) near half a second; everyday patterns
 * (an e-mail, a UUID, `^.{1,255}$`) compile to 10–650 instructions.
 */
const MAX_PROGRAM_SIZE = 1000;

type Range = readonly [number, number];

const MAX_CODE_POINT = 0x10ffff;
const DIGIT: readonly Range[] = [[0x30, 0x39]];
const WORD: readonly Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
/** JavaScript's `\s`: WhiteSpace and LineTerminator (RE2's `\s` is ASCII only). */
const SPACE: readonly Range[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
const LINE_TERMINATORS: readonly Range[] = [
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
];
const ANY: readonly Range[] = [[0, MAX_CODE_POINT]];

/** The long names of general categories that JavaScript accepts (`\p{Letter}`); RE2 knows the short ones. */
const GENERAL_CATEGORY_ALIASES: Readonly<Record<string, string>> = {
  Cased_Letter: 'LC',
  Close_Punctuation: 'Pe',
  Combining_Mark: 'M',
  Connector_Punctuation: 'Pc',
  Control: 'Cc',
  cntrl: 'Cc',
  Currency_Symbol: 'Sc',
  Dash_Punctuation: 'Pd',
  Decimal_Number: 'Nd',
  digit: 'Nd',
  Enclosing_Mark: 'Me',
  Final_Punctuation: 'Pf',
  Format: 'Cf',
  Initial_Punctuation: 'Pi',
  Letter: 'L',
  Letter_Number: 'Nl',
  Line_Separator: 'Zl',
  Lowercase_Letter: 'Ll',
  Mark: 'M',
  Math_Symbol: 'Sm',
  Modifier_Letter: 'Lm',
  Modifier_Symbol: 'Sk',
  Nonspacing_Mark: 'Mn',
  Number: 'N',
  Open_Punctuation: 'Ps',
  Other: 'C',
  Other_Letter: 'Lo',
  Other_Number: 'No',
  Other_Punctuation: 'Po',
  Other_Symbol: 'So',
  Paragraph_Separator: 'Zp',
  Private_Use: 'Co',
  Punctuation: 'P',
  punct: 'P',
  Separator: 'Z',
  Space_Separator: 'Zs',
  Spacing_Mark: 'Mc',
  Surrogate: 'Cs',
  Symbol: 'S',
  Titlecase_Letter: 'Lt',
  Unassigned: 'Cn',
  Uppercase_Letter: 'Lu',
};

/** Binary properties whose RE2 name differs from JavaScript's. */
const BINARY_ALIASES: Readonly<Record<string, string>> = { ASCII: 'Ascii' };

const re2Knows = new Map<string, boolean>();

/** Whether RE2 has a table of this name (general categories, scripts by full name, some binary properties). */
function re2HasProperty(name: string): boolean {
  let known = re2Knows.get(name);
  if (known === undefined) {
    try {
      RE2JS.compile(`\\p{${name}}`);
      known = true;
    } catch {
      known = false;
    }
    re2Knows.set(name, known);
  }
  return known;
}

const isHighSurrogate = (cp: number) => cp >= 0xd800 && cp <= 0xdbff;
const isLowSurrogate = (cp: number) => cp >= 0xdc00 && cp <= 0xdfff;

/** A character as RE2 reads it anywhere, in or out of a class: letters and digits as they are, the rest as `\x{…}`. */
function char(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a))
    return String.fromCodePoint(cp);
  return `\\x{${cp.toString(16).toUpperCase()}}`;
}

function rangesText(ranges: readonly Range[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? char(lo) : `${char(lo)}-${char(hi)}`)).join('');
}

function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

/** A class that matches exactly these ranges; `[]` is not RE2 syntax, so nothing is `[^\x{0}-\x{10FFFF}]`. */
function classOf(ranges: readonly Range[]): string {
  return ranges.length === 0 ? `[^${rangesText(ANY)}]` : `[${rangesText(ranges)}]`;
}

function show(source: string): string {
  return `/${source.length > 60 ? `${source.slice(0, 57)}...` : source}/`;
}

/** Writes a parsed ECMAScript pattern in RE2's syntax, refusing what RE2 cannot run. */
class Translator {
  readonly #source: string;
  readonly #dotAll: boolean;

  constructor(source: string, dotAll: boolean) {
    this.#source = source;
    this.#dotAll = dotAll;
  }

  pattern(node: AST.Pattern): string {
    return this.#alternatives(node.alternatives);
  }

  #refuse(node: AST.Node, what: string, at = node.raw): never {
    throw new PatternRefused(
      `${show(this.#source)} is not supported by the linear-time regex engine: ${what} (at '${at}')`,
    );
  }

  #alternatives(alternatives: readonly AST.Alternative[]): string {
    return alternatives.map((alternative) => this.#alternative(alternative)).join('|');
  }

  #alternative(node: AST.Alternative): string {
    let out = '';
    const { elements } = node;
    for (let i = 0; i < elements.length; i++) {
      const element = elements[i]!;
      const next = elements[i + 1];
      // Without `u`, an astral character in the pattern is two surrogates, which in code points is one character.
      if (
        element.type === 'Character' &&
        isHighSurrogate(element.value) &&
        next?.type === 'Character' &&
        isLowSurrogate(next.value)
      ) {
        out += char((element.value - 0xd800) * 0x400 + (next.value - 0xdc00) + 0x10000);
        i++;
        continue;
      }
      out += this.#element(element);
    }
    return out;
  }

  #element(node: AST.Element): string {
    switch (node.type) {
      case 'Character':
        return this.#character(node);
      case 'CharacterSet':
        return this.#set(node);
      case 'CharacterClass':
        return this.#class(node);
      case 'ExpressionCharacterClass':
        return this.#refuse(node, 'class set operations (the v flag) are not supported');
      case 'Group':
        return `(?:${this.#alternatives(node.alternatives)})`;
      case 'CapturingGroup':
        // Named or not, a group keeps its number, which is what `exec` reports.
        return `(${this.#alternatives(node.alternatives)})`;
      case 'Quantifier':
        return this.#quantifier(node);
      case 'Backreference':
        return this.#refuse(node, 'backreferences need backtracking');
      case 'Assertion':
        switch (node.kind) {
          case 'start':
            return '^';
          case 'end':
            return '$';
          case 'word':
            return node.negate ? '\\B' : '\\b';
          case 'lookahead':
            return this.#refuse(node, 'lookahead, (?=…) and (?!…), needs backtracking');
          case 'lookbehind':
            return this.#refuse(node, 'lookbehind, (?<=…) and (?<!…), needs backtracking');
        }
    }
  }

  #quantifier(node: AST.Quantifier): string {
    const { min, max } = node;
    let suffix: string;
    if (min === 0 && max === Number.POSITIVE_INFINITY) suffix = '*';
    else if (min === 1 && max === Number.POSITIVE_INFINITY) suffix = '+';
    else if (min === 0 && max === 1) suffix = '?';
    else if (max === Number.POSITIVE_INFINITY) suffix = `{${min},}`;
    else if (min === max) suffix = `{${min}}`;
    else suffix = `{${min},${max}}`;
    if (min > 1000 || (max !== Number.POSITIVE_INFINITY && max > 1000)) {
      this.#refuse(node, 'repetition counts above 1000 are too large');
    }
    return `(?:${this.#element(node.element)})${suffix}${node.greedy ? '' : '?'}`;
  }

  #character(node: AST.Character): string {
    if (isHighSurrogate(node.value) || isLowSurrogate(node.value)) {
      const code = `\\u${node.value.toString(16).toUpperCase()}`;
      this.#refuse(
        node,
        'text is matched by code point, so half of a surrogate pair cannot be (use the u flag for astral characters)',
        code,
      );
    }
    return char(node.value);
  }

  #set(node: AST.CharacterSet): string {
    switch (node.kind) {
      case 'any':
        return classOf(this.#dotAll ? ANY : complement(LINE_TERMINATORS));
      case 'property':
        return this.#property(node);
      default:
        return classOf(this.#escapeRanges(node));
    }
  }

  #escapeRanges(node: AST.EscapeCharacterSet): readonly Range[] {
    const ranges = node.kind === 'digit' ? DIGIT : node.kind === 'word' ? WORD : SPACE;
    return node.negate ? complement(ranges) : ranges;
  }

  #property(node: AST.UnicodePropertyCharacterSet): string {
    const { key, value } = node;
    let name: string | undefined;
    if (key === 'General_Category' || key === 'gc') name = GENERAL_CATEGORY_ALIASES[value!] ?? value!;
    else if (key === 'Script' || key === 'sc') name = value!;
    else if (value === null) name = BINARY_ALIASES[key] ?? key;
    if (node.strings || name === undefined || !re2HasProperty(name)) {
      this.#refuse(
        node,
        'this Unicode property is not known to it: use a general category (\\p{L}, \\p{Letter}), a script by its full name (\\p{Script=Greek}) or a common binary property (\\p{Alphabetic}, \\p{White_Space})',
      );
    }
    return `\\${node.negate ? 'P' : 'p'}{${name}}`;
  }

  #class(node: AST.CharacterClass): string {
    if (node.unicodeSets) this.#refuse(node, 'the v flag is not supported');
    let body = '';
    for (const element of node.elements) {
      switch (element.type) {
        case 'Character':
          body += this.#character(element);
          break;
        case 'CharacterClassRange':
          this.#character(element.min);
          this.#character(element.max);
          body += `${char(element.min.value)}-${char(element.max.value)}`;
          break;
        case 'CharacterSet':
          body +=
            element.kind === 'property' ? this.#property(element) : rangesText(this.#escapeRanges(element));
          break;
        default:
          this.#refuse(element, 'this class element is not supported');
      }
    }
    if (body === '') return classOf(node.negate ? ANY : []);
    return `[${node.negate ? '^' : ''}${body}]`;
  }
}
