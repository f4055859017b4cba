/**
 * EventBridge event patterns (CONTRACT §6, the `eventbridge` listener's `match`): one pure module
 * that checks a pattern the way PutRule does and matches events the way the event bus does, so the
 * cloud `trigger` Lambda and the local in-process bus answer the same.
 *
 * A pattern is an object. A key whose value is an object descends into the event; a key whose
 * value is an array is a leaf: it matches when any of its entries matches any of the event's values
 * there (an event array matches when any element does). The entries are literals (string, number,
 * boolean, null) or one-key operator objects: `prefix`, `suffix`, `equals-ignore-case`,
 * `anything-but`, `numeric`, `exists`, `cidr`, `wildcard`. `$or` takes a list of sub-patterns at
 * the level it is written, ANDed with the keys beside it.
 *
 * Choices where AWS's documentation is silent, taken from the behaviour of its open-source matcher
 * (aws/event-ruler): a field that is absent matches only `{"exists": false}`; `anything-but` needs a
 * value to be present and matches any value its inner test does not (numbers and null included);
 * `exists` looks at leaf values only, so an object or an empty array there counts as absent;
 * numbers compare by value (`300` matches `3.0e2`), never against strings.
 */
import ipaddr from 'ipaddr.js';
import { type DocumentPath, formatPath } from '../definition/paths.js';

/** An EventBridge event pattern, as JSON. */
export type EventPattern = { [key: string]: unknown };

/** A problem found in a pattern: where (`detail.state[0]`, `(root)` for the whole pattern) and what. */
export interface PatternProblem {
  path: string;
  message: string;
}

/** EventBridge's default quota for an event pattern, in characters. */
export const MAX_PATTERN_CHARS = 2048;
/**
 * The most combinations a pattern may expand to: the product of its leaf arrays' lengths, with each
 * `$or` adding up its alternatives'. Patterns beyond it are rejected as too complex.
 */
export const MAX_PATTERN_COMBINATIONS = 1000;
/** Numeric matching works between these bounds, as in EventBridge. */
export const NUMERIC_LIMIT = 5e9;

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'anything-but',
  'numeric',
  'exists',
  'cidr',
  'wildcard',
]);
const LOWER = new Set(['>', '>=']);
const UPPER = new Set(['<', '<=']);

// ---------------------------------------------------------------------------------------------
// Checking

/** Every problem with `pattern`, empty when EventBridge would accept it. */
export function checkEventPattern(pattern: unknown): PatternProblem[] {
  const problems: Array<{ path: DocumentPath; message: string }> = [];
  const report: Report = (path, message) => {
    problems.push({ path, message });
  };
  if (!isPlainObject(pattern)) {
    report([], 'an event pattern must be a JSON object');
  } else {
    const text = JSON.stringify(pattern);
    if (text.length > MAX_PATTERN_CHARS)
      report([], `the pattern is ${text.length} characters; EventBridge allows ${MAX_PATTERN_CHARS}`);
    checkObject(pattern, [], report, true);
    if (problems.length === 0) {
      const combinations = countCombinations(pattern);
      if (combinations > MAX_PATTERN_COMBINATIONS)
        report(
          [],
          `the pattern expands to ${combinations} combinations; at most ${MAX_PATTERN_COMBINATIONS} are allowed`,
        );
    }
  }
  return problems.map(({ path, message }) => ({ path: formatPath(path), message }));
}

type Report = (path: DocumentPath, message: string) => void;

function checkObject(node: Record<string, unknown>, path: DocumentPath, report: Report, top: boolean) {
  const keys = Object.keys(node);
  if (keys.length === 0) {
    report(path, top ? 'an event pattern must not be empty' : 'an empty object matches nothing; remove it');
    return;
  }
  for (const key of keys) {
    const value = node[key];
    const at = [...path, key];
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        report(at, '$or takes a list of at least two patterns');
        continue;
      }
      value.forEach((alternative, index) => {
        if (!isPlainObject(alternative)) report([...at, index], 'each $or alternative must be an object');
        else checkObject(alternative, [...at, index], report, false);
      });
    } else if (Array.isArray(value)) {
      if (value.length === 0) report(at, 'a list of match values must not be empty');
      value.forEach((entry, index) => {
        checkEntry(entry, [...at, index], report);
      });
    } else if (isPlainObject(value)) {
      checkObject(value, at, report, false);
    } else {
      report(at, 'match values must be a list, e.g. ["value"], or a nested object');
    }
  }
}

function checkEntry(entry: unknown, path: DocumentPath, report: Report) {
  if (entry === null || typeof entry === 'string' || typeof entry === 'boolean') return;
  if (typeof entry === 'number') {
    if (!Number.isFinite(entry)) report(path, 'a number must be finite');
    return;
  }
  if (!isPlainObject(entry)) {
    report(path, 'a match value must be a string, number, boolean, null or an operator object');
    return;
  }
  const keys = Object.keys(entry);
  if (keys.length !== 1) {
    report(path, `an operator object has exactly one key; found ${keys.length}`);
    return;
  }
  const operator = keys[0]!;
  const operand = entry[operator];
  const at = [...path, operator];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      if (!isString(operand) && !isIgnoreCase(operand))
        report(at, `${operator} takes a string or {"equals-ignore-case": string}`);
      else if (isIgnoreCase(operand) && !isString(operand['equals-ignore-case']))
        report([...at, 'equals-ignore-case'], 'equals-ignore-case takes a string');
      return;
    case 'equals-ignore-case':
      if (!isString(operand)) report(at, 'equals-ignore-case takes a string');
      return;
    case 'exists':
      if (typeof operand !== 'boolean') report(at, 'exists takes true or false');
      return;
    case 'cidr':
      if (!isString(operand) || !parseCidr(operand))
        report(at, 'cidr takes an IPv4 or IPv6 block, e.g. "10.0.0.0/24"');
      return;
    case 'wildcard': {
      const problem = isString(operand) ? wildcardProblem(operand) : 'wildcard takes a string';
      if (problem) report(at, problem);
      return;
    }
    case 'numeric':
      checkNumeric(operand, at, report);
      return;
    case 'anything-but':
      checkAnythingBut(operand, at, report);
      return;
    default:
      report(
        at,
        OPERATORS.has(operator)
          ? `${operator} is not valid here`
          : `unknown operator "${operator}"; use one of ${[...OPERATORS].join(', ')}`,
      );
  }
}

function checkNumeric(operand: unknown, path: DocumentPath, report: Report) {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0 || operand.length > 4) {
    report(path, 'numeric takes one or two [operator, number] pairs, e.g. [">", 0, "<=", 5]');
    return;
  }
  let lower: number | undefined;
  let upper: number | undefined;
  let equals = false;
  for (let index = 0; index < operand.length; index += 2) {
    const op = operand[index];
    const value = operand[index + 1];
    if (typeof op !== 'string' || !(op === '=' || LOWER.has(op) || UPPER.has(op))) {
      report([...path, index], `unknown numeric operator ${JSON.stringify(op)}; use =, <, <=, > or >=`);
      return;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      report([...path, index + 1], `${op} takes a number`);
      return;
    }
    if (Math.abs(value) > NUMERIC_LIMIT) {
      report([...path, index + 1], `numeric matching works between -5e9 and 5e9; ${value} is outside`);
      return;
    }
    if (op === '=') equals = true;
    else if (LOWER.has(op)) {
      if (lower !== undefined) return report([...path, index], 'numeric takes at most one lower bound');
      lower = value;
    } else {
      if (upper !== undefined) return report([...path, index], 'numeric takes at most one upper bound');
      upper = value;
    }
  }
  if (equals && operand.length !== 2) report(path, '"=" stands alone in a numeric match');
  else if (lower !== undefined && upper !== undefined && lower >= upper)
    report(path, `the lower bound ${lower} is not below the upper bound ${upper}`);
}

function checkAnythingBut(operand: unknown, path: DocumentPath, report: Report) {
  if (isString(operand) || (typeof operand === 'number' && Number.isFinite(operand))) return;
  if (Array.isArray(operand)) {
    if (operand.length === 0) report(path, 'anything-but takes a non-empty list');
    else if (
      !operand.every(isString) &&
      !operand.every((value) => typeof value === 'number' && Number.isFinite(value))
    )
      report(path, 'an anything-but list holds only strings or only numbers');
    return;
  }
  if (!isPlainObject(operand) || Object.keys(operand).length !== 1) {
    report(
      path,
      'anything-but takes a string, a number, a list of either, or one of prefix, suffix, equals-ignore-case, wildcard',
    );
    return;
  }
  const inner = Object.keys(operand)[0]!;
  const value = operand[inner];
  const at = [...path, inner];
  const stringOrStrings =
    isString(value) || (Array.isArray(value) && value.length > 0 && value.every(isString));
  switch (inner) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      if (!stringOrStrings) report(at, `anything-but ${inner} takes a string or a non-empty list of strings`);
      else if ((inner === 'prefix' || inner === 'suffix') && toList(value).some((item) => item === ''))
        report(at, `anything-but ${inner} takes a non-empty string`);
      return;
    case 'wildcard': {
      if (!stringOrStrings) report(at, 'anything-but wildcard takes a string or a non-empty list of strings');
      else
        for (const item of toList(value)) {
          const problem = wildcardProblem(item);
          if (problem) return report(at, problem);
        }
      return;
    }
    default:
      report(at, `anything-but does not take "${inner}"; use prefix, suffix, equals-ignore-case or wildcard`);
  }
}

/** Why a wildcard pattern is rejected: consecutive `*`, or a `\` that escapes neither `*` nor `\`. */
function wildcardProblem(text: string): string | undefined {
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '\\') {
      const next = text[index + 1];
      if (next !== '*' && next !== '\\') return 'in a wildcard, "\\" escapes only "*" or "\\"';
      index += 1;
    } else if (char === '*' && text[index + 1] === '*') {
      return 'a wildcard must not hold consecutive "*"';
    }
  }
  return undefined;
}

function countCombinations(node: Record<string, unknown>): number {
  let total = 1;
  for (const [key, value] of Object.entries(node)) {
    if (key === '$or' && Array.isArray(value)) {
      let sum = 0;
      for (const alternative of value) sum += countCombinations(alternative as Record<string, unknown>);
      total *= sum;
    } else if (Array.isArray(value)) total *= value.length;
    else if (isPlainObject(value)) total *= countCombinations(value);
    if (total > Number.MAX_SAFE_INTEGER) return total;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Compiling

type Test = (value: Leaf) => boolean;
type Leaf = string | number | boolean | null;

interface FieldMatcher {
  key: string;
  /** A leaf: its tests, and what an absent field gives. */
  tests?: Test[];
  matchesAbsent?: boolean;
  /** A nested pattern. */
  nested?: CompiledNode;
}

/** One level of a pattern turned into closures, so matching an event does no parsing. */
interface CompiledNode {
  fields: FieldMatcher[];
  /** Each `$or` written at this level: one alternative of every group must match. */
  alternatives: CompiledNode[][];
}

/** A checked pattern, ready to match many events. */
export class CompiledPattern {
  constructor(
    readonly source: EventPattern,
    readonly root: CompiledNode,
  ) {}
  matches(event: unknown): boolean {
    return matchObject(this.root, event);
  }
}

const cache = new WeakMap<object, CompiledPattern>();

/** Compiles a pattern that `checkEventPattern` accepts; throws on one it rejects. */
export function compileEventPattern(pattern: EventPattern): CompiledPattern {
  const cached = cache.get(pattern);
  if (cached) return cached;
  const problems = checkEventPattern(pattern);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw new TypeError(`invalid event pattern at ${first.path}: ${first.message}`);
  }
  const compiled = new CompiledPattern(pattern, compileObject(pattern));
  cache.set(pattern, compiled);
  return compiled;
}

function compileObject(node: Record<string, unknown>): CompiledNode {
  const compiled: CompiledNode = { fields: [], alternatives: [] };
  for (const [key, value] of Object.entries(node)) {
    if (key === '$or') {
      compiled.alternatives.push((value as Record<string, unknown>[]).map(compileObject));
    } else if (Array.isArray(value)) {
      const tests: Test[] = [];
      let matchesAbsent = false;
      for (const entry of value) {
        if (isPlainObject(entry) && 'exists' in entry) {
          if (entry.exists === false) matchesAbsent = true;
          else tests.push(() => true);
        } else tests.push(compileEntry(entry));
      }
      compiled.fields.push({ key, tests, matchesAbsent });
    } else {
      compiled.fields.push({ key, nested: compileObject(value as Record<string, unknown>) });
    }
  }
  return compiled;
}

function compileEntry(entry: unknown): Test {
  if (entry === null) return (value) => value === null;
  if (typeof entry === 'string') return (value) => value === entry;
  if (typeof entry === 'boolean') return (value) => value === entry;
  if (typeof entry === 'number') return (value) => typeof value === 'number' && value === entry;
  const [operator, operand] = Object.entries(entry as Record<string, unknown>)[0]!;
  switch (operator) {
    case 'prefix':
      return stringTest(affix(operand, (text, part) => text.startsWith(part)));
    case 'suffix':
      return stringTest(affix(operand, (text, part) => text.endsWith(part)));
    case 'equals-ignore-case': {
      const folded = fold(operand as string);
      return stringTest((text) => fold(text) === folded);
    }
    case 'cidr': {
      const range = parseCidr(operand as string)!;
      return stringTest((text) => inCidr(text, range));
    }
    case 'wildcard':
      return stringTest(compileWildcard(operand as string));
    case 'numeric':
      return compileNumeric(operand as unknown[]);
    default:
      return compileAnythingBut(operand);
  }
}

function stringTest(test: (text: string) => boolean): Test {
  return (value) => typeof value === 'string' && test(value);
}

function affix(operand: unknown, test: (text: string, part: string) => boolean): (text: string) => boolean {
  if (typeof operand === 'string') return (text) => test(text, operand);
  const part = fold((operand as Record<string, string>)['equals-ignore-case']!);
  return (text) => test(fold(text), part);
}

function compileNumeric(operand: unknown[]): Test {
  const checks: Array<(n: number) => boolean> = [];
  for (let index = 0; index < operand.length; index += 2) {
    const bound = operand[index + 1] as number;
    switch (operand[index]) {
      case '=':
        checks.push((n) => n === bound);
        break;
      case '<':
        checks.push((n) => n < bound);
        break;
      case '<=':
        checks.push((n) => n <= bound);
        break;
      case '>':
        checks.push((n) => n > bound);
        break;
      default:
        checks.push((n) => n >= bound);
    }
  }
  return (value) => typeof value === 'number' && checks.every((check) => check(value));
}

function compileAnythingBut(operand: unknown): Test {
  if (typeof operand === 'string' || typeof operand === 'number') return (value) => value !== operand;
  if (Array.isArray(operand)) {
    const excluded = new Set<unknown>(operand);
    return (value) => !excluded.has(value);
  }
  const [inner, raw] = Object.entries(operand as Record<string, unknown>)[0]!;
  const items = toList(raw as string | string[]);
  let test: (text: string) => boolean;
  switch (inner) {
    case 'prefix':
      test = (text) => items.some((item) => text.startsWith(item));
      break;
    case 'suffix':
      test = (text) => items.some((item) => text.endsWith(item));
      break;
    case 'equals-ignore-case': {
      const folded = new Set(items.map(fold));
      test = (text) => folded.has(fold(text));
      break;
    }
    default: {
      const wildcards = items.map(compileWildcard);
      test = (text) => wildcards.some((wildcard) => wildcard(text));
    }
  }
  return (value) => typeof value !== 'string' || !test(value);
}

// ---------------------------------------------------------------------------------------------
// Matching

/** Whether `event` matches `pattern` (checked and compiled on first use, then cached per object). */
export function matchesEventPattern(pattern: EventPattern | CompiledPattern, event: unknown): boolean {
  const compiled = pattern instanceof CompiledPattern ? pattern : compileEventPattern(pattern);
  return compiled.matches(event);
}

function matchObject(pattern: CompiledNode, node: unknown): boolean {
  if (Array.isArray(node)) return node.some((element) => matchObject(pattern, element));
  const object = isPlainObject(node) ? node : undefined;
  for (const field of pattern.fields) {
    const value = object === undefined || !Object.hasOwn(object, field.key) ? undefined : object[field.key];
    if (field.nested) {
      if (!matchObject(field.nested, value ?? {})) return false;
      continue;
    }
    const leaves: Leaf[] = [];
    collectLeaves(value, leaves);
    if (leaves.length === 0) {
      if (!field.matchesAbsent) return false;
      continue;
    }
    const tests = field.tests!;
    if (!leaves.some((leaf) => tests.some((test) => test(leaf)))) return false;
  }
  for (const group of pattern.alternatives) {
    if (!group.some((alternative) => matchObject(alternative, node))) return false;
  }
  return true;
}

function collectLeaves(value: unknown, into: Leaf[]) {
  if (value === undefined) return;
  if (Array.isArray(value)) {
    for (const element of value) collectLeaves(element, into);
    return;
  }
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    into.push(value);
}

// ---------------------------------------------------------------------------------------------
// Wildcards, in linear time: the text between `*`s is found left to right with KMP.

/**
 * `*` matches any run of characters (none included); `\*` is a literal star and `\\` a backslash.
 * Matching splits the pattern at its stars: the first piece must start the text, the last must end
 * it, and each piece between is taken at its leftmost place after the previous one (greedy leftmost
 * is exact for `*`-only patterns). Each piece is searched with KMP, so a match costs O(text +
 * pattern), whatever the input.
 */
export function compileWildcard(pattern: string): (text: string) => boolean {
  const pieces: string[] = [''];
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index]!;
    if (char === '\\' && index + 1 < pattern.length) {
      pieces[pieces.length - 1] += pattern[index + 1]!;
      index += 1;
    } else if (char === '*') pieces.push('');
    else pieces[pieces.length - 1] += char;
  }
  const first = pieces[0]!;
  if (pieces.length === 1) return (text) => text === first;
  const last = pieces[pieces.length - 1]!;
  const middle = pieces
    .slice(1, -1)
    .filter((piece) => piece !== '')
    .map((piece) => ({ piece, table: kmpTable(piece) }));
  const fixed = first.length + last.length;
  return (text) => {
    if (text.length < fixed || !text.startsWith(first) || !text.endsWith(last)) return false;
    let from = first.length;
    const end = text.length - last.length;
    for (const { piece, table } of middle) {
      const found = kmpFind(text, piece, table, from, end);
      if (found < 0) return false;
      from = found + piece.length;
    }
    return true;
  };
}

function kmpTable(piece: string): Int32Array {
  const table = new Int32Array(piece.length);
  let k = 0;
  for (let index = 1; index < piece.length; index += 1) {
    while (k > 0 && piece[index] !== piece[k]) k = table[k - 1]!;
    if (piece[index] === piece[k]) k += 1;
    table[index] = k;
  }
  return table;
}

/** The first index ≥ from where `piece` lies wholly before `end`, or -1. */
function kmpFind(text: string, piece: string, table: Int32Array, from: number, end: number): number {
  let k = 0;
  for (let index = from; index < end; index += 1) {
    while (k > 0 && text[index] !== piece[k]) k = table[k - 1]!;
    if (text[index] === piece[k]) k += 1;
    if (k === piece.length) return index - piece.length + 1;
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Helpers

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseCidr(text: string): Cidr | undefined {
  if (!text.includes('/')) return undefined;
  try {
    return ipaddr.parseCIDR(text);
  } catch {
    return undefined;
  }
}

function inCidr(text: string, [range, bits]: Cidr): boolean {
  if (!ipaddr.isValid(text)) return false;
  try {
    const address = ipaddr.parse(text);
    if (address.kind() !== range.kind()) return false;
    return address.match(range, bits);
  } catch {
    return false;
  }
}

const fold = (text: string) => text.toLowerCase();

function toList(value: unknown): string[] {
  return Array.isArray(value) ? (value as string[]) : [value as string];
}

function isString(value: unknown): value is string {
  return typeof value === 'string';
}

function isIgnoreCase(value: unknown): value is Record<string, unknown> {
  return isPlainObject(value) && Object.keys(value).length === 1 && 'equals-ignore-case' in value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
