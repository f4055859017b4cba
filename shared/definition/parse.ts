/**
 * Reads a workflow document (YAML or JSON) into a plain value, and keeps where each value was
 * written so that every later problem can name its line and column.
 */
import {
  Composer,
  type CST,
  type Document,
  isAlias,
  isMap,
  isNode,
  isScalar,
  isSeq,
  LineCounter,
  Parser,
} from 'yaml';
import type { ErrorIssue } from '../errors.js';
import { type DocumentPath, formatPath, type PathSegment, ROOT_PATH } from './paths.js';

export type DocumentFormat = 'yaml' | 'json';

/** 1-based, columns counted in UTF-16 code units as editors do. */
export interface SourcePosition {
  line: number;
  column: number;
}

export interface ParsedDocument {
  /** The document as plain data; absent when it could not be read at all. */
  value?: unknown;
  format: DocumentFormat;
  /** Problems found while reading; a value may still be given (e.g. with a duplicate key). */
  issues: ErrorIssue[];
  /**
   * Where the value at `path` was written: the key of a mapping entry, the start of a sequence
   * item. A path that goes further than the document points at the deepest part that exists.
   */
  locate(path: DocumentPath): SourcePosition | undefined;
}

export const MAX_DOCUMENT_BYTES = 1_048_576;
/** Far deeper than any workflow needs, and shallow enough that no reader runs out of stack. */
export const MAX_NESTING_DEPTH = 100;
/** Bounds how much YAML aliases may expand, against "billion laughs" documents. */
export const MAX_ALIAS_COUNT = 100;

/**
 * Reads `text` as `format`; without one, text that starts with `{` or `[` is JSON and anything
 * else YAML (so a JSON typo is reported as such, not read as a YAML flow mapping).
 */
export function parseDocument(text: string, format?: DocumentFormat): ParsedDocument {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_DOCUMENT_BYTES) {
    return unreadable(format ?? 'yaml', {
      path: ROOT_PATH,
      message: `the document is ${bytes} bytes; the limit is ${MAX_DOCUMENT_BYTES} bytes (1 MB)`,
    });
  }
  const detected = format ?? (/^\uFEFF?\s*[[{]/.test(text) ? 'json' : 'yaml');
  return detected === 'json' ? parseJson(text) : parseYaml(text);
}

function unreadable(format: DocumentFormat, ...issues: ErrorIssue[]): ParsedDocument {
  return { format, issues, locate: () => undefined };
}

function issueAt(path: string, message: string, position: SourcePosition | undefined): ErrorIssue {
  return position ? { path, message, line: position.line, column: position.column } : { path, message };
}

function positionOf(lineCounter: LineCounter, offset: number): SourcePosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

// ---------------------------------------------------------------------------------------------
// YAML

/** yaml error codes after which the document still reads as intended. */
const RECOVERABLE_YAML_ERRORS = new Set(['DUPLICATE_KEY']);

function parseYaml(text: string): ParsedDocument {
  const lineCounter = new LineCounter();
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const tooDeep = firstTooDeep(tokens);
  if (tooDeep !== undefined) {
    return unreadable('yaml', issueAt(ROOT_PATH, TOO_DEEP, positionOf(lineCounter, tooDeep)));
  }
  const templates = unquotedTemplates(text, tokens);
  if (templates.length === 0) {
    return composeYaml(text, tokens, (offset) => positionOf(lineCounter, offset), []);
  }
  // Read the document as the author meant it, each such value quoted, so that every other problem
  // is still found; the quoting itself is reported first.
  const repaired = quoteTemplates(text, templates);
  const repairedTokens = Array.from(new Parser().parse(repaired.text));
  return composeYaml(
    repaired.text,
    repairedTokens,
    (offset) => positionOf(lineCounter, repaired.toOriginal(offset)),
    repaired.starts,
  );
}

/**
 * Composes the parsed tokens into a value. `position` turns an offset of `text` into a position
 * in what the author wrote; `quoted` are the offsets (in `text`) of values that were quoted for them.
 */
function composeYaml(
  text: string,
  tokens: readonly CST.Token[],
  position: (offset: number) => SourcePosition,
  quoted: ReadonlyArray<{ offset: number; value: string }>,
): ParsedDocument {
  const composer = new Composer({ prettyErrors: false, uniqueKeys: true, stringKeys: true });
  const documents = Array.from(composer.compose(tokens, false, text.length));
  const document = documents[0];
  if (!document) return unreadable('yaml', { path: ROOT_PATH, message: 'the document is empty' });

  const locate = (path: DocumentPath) => locateInYaml(document, position, path);
  const issues: ErrorIssue[] = [];
  for (const { offset, value } of quoted) {
    const path = pathAtOffset(document, offset);
    issues.push(
      issueAt(
        formatPath(path),
        `YAML reads a value that starts with {{ as a mapping, not a placeholder: quote the whole value (${quotedExample(path, value)})`,
        position(offset),
      ),
    );
  }
  let recoverable = true;
  for (const error of document.errors) {
    recoverable &&= RECOVERABLE_YAML_ERRORS.has(error.code);
    const path = pathAtOffset(document, error.pos[0]);
    const message =
      error.code === 'DUPLICATE_KEY'
        ? `duplicate key '${String(path.at(-1))}': a key may appear only once in a mapping`
        : error.message;
    issues.push(issueAt(formatPath(path), message, position(error.pos[0])));
  }
  for (const warning of document.warnings) {
    const path = pathAtOffset(document, warning.pos[0]);
    const message =
      warning.code === 'TAG_RESOLVE_FAILED'
        ? `${warning.message}: a workflow is plain YAML, without custom tags`
        : warning.message;
    issues.push(issueAt(formatPath(path), message, position(warning.pos[0])));
  }
  const extra = documents[1];
  if (extra) {
    issues.push(
      issueAt(
        ROOT_PATH,
        `a workflow file holds one YAML document; found ${documents.length} (remove the '---' separators)`,
        position(extra.range[0]),
      ),
    );
  }
  if (!recoverable) return { format: 'yaml', issues, locate };

  try {
    const value = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    if (value === null || value === undefined) {
      return {
        format: 'yaml',
        issues: [...issues, { path: ROOT_PATH, message: 'the document is empty' }],
        locate,
      };
    }
    return { value, format: 'yaml', issues, locate };
  } catch (error) {
    const message =
      error instanceof ReferenceError && /alias/i.test(error.message)
        ? `YAML aliases expand too much (over ${MAX_ALIAS_COUNT} alias uses, nested ones included); write the values out instead`
        : `the document could not be read: ${error instanceof Error ? error.message : String(error)}`;
    return { format: 'yaml', issues: [...issues, { path: ROOT_PATH, message }], locate };
  }
}

/** `key: "{{ ... }}"`, or the quoted value alone in a list. */
function quotedExample(path: DocumentPath, value: string): string {
  const key = path.at(-1);
  return typeof key === 'string' ? `${key}: ${JSON.stringify(value)}` : JSON.stringify(value);
}

/** A plain value that starts with `{{`: the author's placeholder, which YAML reads as a flow mapping. */
interface UnquotedTemplate {
  start: number;
  end: number;
}

/**
 * The values (of a mapping entry or a list item) that start with an unquoted `{{`, with where each
 * ends: the end of the line (before a comment) or, inside a flow collection, the next `,`, `]`
 * or `}` outside the braces.
 */
function unquotedTemplates(text: string, tokens: readonly CST.Token[]): UnquotedTemplate[] {
  const found: UnquotedTemplate[] = [];
  const pending: CST.Token[] = [...tokens];
  for (let token = pending.pop(); token; token = pending.pop()) {
    if (token.type === 'document') {
      if (token.value) pending.push(token.value);
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      const inFlow = token.type === 'flow-collection';
      for (const item of token.items) {
        if (item.key) pending.push(item.key);
        const value = item.value;
        if (!value) continue;
        if (value.type === 'flow-collection' && text.startsWith('{{', value.offset)) {
          found.push({ start: value.offset, end: templateEnd(text, value.offset, inFlow) });
        } else {
          pending.push(value);
        }
      }
    }
  }
  found.sort((a, b) => a.start - b.start);
  return found.filter((template, index) => index === 0 || template.start >= found[index - 1]!.end);
}

function templateEnd(text: string, start: number, flow: boolean): number {
  let depth = 0;
  let at = start;
  for (; at < text.length; at++) {
    const char = text.charAt(at);
    if (char === '\n' || char === '\r') break;
    if (depth === 0) {
      if (flow && (char === ',' || char === ']' || char === '}')) break;
      if (char === '#' && (text.charAt(at - 1) === ' ' || text.charAt(at - 1) === '\t')) break;
    }
    if (char === '{') depth++;
    else if (char === '}' && depth > 0) depth--;
  }
  while (at > start && (text.charAt(at - 1) === ' ' || text.charAt(at - 1) === '\t')) at--;
  return at;
}

/** The text with each template double-quoted, where each starts now, and a map of offsets back to the original. */
function quoteTemplates(
  text: string,
  templates: readonly UnquotedTemplate[],
): {
  text: string;
  starts: Array<{ offset: number; value: string }>;
  toOriginal: (offset: number) => number;
} {
  let out = '';
  let last = 0;
  const moved: Array<{ from: number; length: number; original: number; originalLength: number }> = [];
  const starts: Array<{ offset: number; value: string }> = [];
  for (const { start, end } of templates) {
    out += text.slice(last, start);
    const value = text.slice(start, end);
    const quotedValue = JSON.stringify(value);
    moved.push({
      from: out.length,
      length: quotedValue.length,
      original: start,
      originalLength: end - start,
    });
    starts.push({ offset: out.length, value });
    out += quotedValue;
    last = end;
  }
  out += text.slice(last);
  const toOriginal = (offset: number): number => {
    let delta = 0;
    for (const move of moved) {
      if (offset < move.from) break;
      if (offset < move.from + move.length) {
        return move.original + Math.min(Math.max(offset - move.from - 1, 0), move.originalLength);
      }
      delta += move.length - move.originalLength;
    }
    return offset - delta;
  };
  return { text: out, starts, toOriginal };
}

/** The offset of the first collection nested deeper than the limit, walking the syntax tree without recursion. */
function firstTooDeep(tokens: readonly CST.Token[]): number | undefined {
  const pending: Array<{ token: CST.Token; depth: number }> = tokens.map((token) => ({ token, depth: 0 }));
  for (let entry = pending.pop(); entry; entry = pending.pop()) {
    const { token, depth } = entry;
    if (token.type === 'document') {
      if (token.value) pending.push({ token: token.value, depth });
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > MAX_NESTING_DEPTH) return token.offset;
      for (const item of token.items) {
        if (item.key) pending.push({ token: item.key, depth: depth + 1 });
        if (item.value) pending.push({ token: item.value, depth: depth + 1 });
      }
    }
  }
  return undefined;
}

function keyOf(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function locateInYaml(
  document: Document,
  position: (offset: number) => SourcePosition,
  path: DocumentPath,
): SourcePosition | undefined {
  let node: unknown = document.contents;
  let offset = isNode(node) ? node.range?.[0] : undefined;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find((item) => keyOf(item.key) === String(segment));
      if (!pair) break;
      offset = isNode(pair.key) ? pair.key.range?.[0] : offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!isNode(item)) break;
      offset = item.range?.[0];
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : position(offset);
}

/** The path of the deepest value whose source (tags and anchors included) holds `offset`. */
function pathAtOffset(document: Document, offset: number): PathSegment[] {
  const path: PathSegment[] = [];
  const start = (node: unknown) => (isNode(node) && node.range ? node.range[0] : undefined);
  const end = (node: unknown) => (isNode(node) && node.range ? node.range[2] : undefined);
  let node: unknown = document.contents;
  descend: while (node) {
    if (isMap(node)) {
      for (const pair of node.items) {
        const from = start(pair.key) ?? start(pair.value);
        const to = end(pair.value) ?? end(pair.key);
        if (from === undefined || to === undefined || offset < from || offset >= to) continue;
        path.push(keyOf(pair.key));
        const valueStart = start(pair.value);
        if (valueStart === undefined || offset < valueStart) break descend;
        node = pair.value;
        continue descend;
      }
    } else if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) {
        const from = start(item);
        const to = end(item);
        if (from === undefined || to === undefined || offset < from || offset >= to) continue;
        path.push(index);
        node = item;
        continue descend;
      }
    }
    break;
  }
  return path;
}

// ---------------------------------------------------------------------------------------------
// JSON

/** Where a JSON value (and its key, inside an object) starts. */
interface JsonNode {
  offset: number;
  keyOffset?: number;
  children?: Map<PathSegment, JsonNode>;
}

interface JsonScan {
  root: JsonNode;
  duplicates: Array<{ path: PathSegment[]; offset: number }>;
  error?: { path: PathSegment[]; offset: number; message: string };
}

function parseJson(text: string): ParsedDocument {
  // A byte order mark becomes a space, so that offsets still match the text the user wrote.
  const source = text.startsWith('\uFEFF') ? ` ${text.slice(1)}` : text;
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0);
  for (let index = source.indexOf('\n'); index !== -1; index = source.indexOf('\n', index + 1)) {
    lineCounter.addNewLine(index + 1);
  }
  const scan = scanJson(source);
  const locate = (path: DocumentPath) => locateInJson(scan.root, lineCounter, path);
  if (scan.error) {
    const { path, offset, message } = scan.error;
    return unreadable('json', issueAt(formatPath(path), message, positionOf(lineCounter, offset)));
  }
  const issues = scan.duplicates.map(({ path, offset }) =>
    issueAt(
      formatPath(path),
      `duplicate key '${String(path.at(-1))}': a key may appear only once in an object`,
      positionOf(lineCounter, offset),
    ),
  );
  return { value: JSON.parse(source), format: 'json', issues, locate };
}

function locateInJson(root: JsonNode, lineCounter: LineCounter, path: DocumentPath): SourcePosition {
  let node = root;
  let offset = root.offset;
  for (const segment of path) {
    const child = node.children?.get(segment) ?? node.children?.get(String(segment));
    if (!child) break;
    offset = child.keyOffset ?? child.offset;
    node = child;
  }
  return positionOf(lineCounter, offset);
}

const TOO_DEEP = `the document is nested more than ${MAX_NESTING_DEPTH} levels deep`;
const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const JSON_ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;

/**
 * A strict JSON scanner that records where each value starts, finds duplicate keys and names
 * the line and column of a syntax error. It keeps its own stack, so nesting cannot overflow it;
 * the values themselves are built by `JSON.parse` once the text is known to be valid.
 */
function scanJson(text: string): JsonScan {
  const root: JsonNode = { offset: 0 };
  const duplicates: JsonScan['duplicates'] = [];
  const stack: Array<{
    node: JsonNode;
    path: PathSegment[];
    array: boolean;
    count: number;
    afterComma: boolean;
  }> = [];
  let at = 0;

  const skipSpace = () => {
    while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at++;
  };
  const found = () =>
    at >= text.length ? 'unexpected end of the document' : `unexpected ${JSON.stringify(text.charAt(at))}`;
  const fail = (path: PathSegment[], message: string): JsonScan => ({
    root,
    duplicates,
    error: { path, offset: Math.min(at, Math.max(text.length - 1, 0)), message },
  });

  /** Reads a string at `at`; returns an error message, or undefined when it is well formed. */
  const readString = (): string | undefined => {
    at++;
    while (at < text.length) {
      const char = text.charCodeAt(at);
      if (char === 0x22) {
        at++;
        return undefined;
      }
      if (char === 0x5c) {
        JSON_ESCAPE.lastIndex = at;
        if (!JSON_ESCAPE.test(text)) return 'invalid escape sequence in a string';
        at = JSON_ESCAPE.lastIndex;
      } else if (char < 0x20) {
        return 'a string cannot hold a line break or control character; write it as an escape such as \\n';
      } else {
        at++;
      }
    }
    return 'unterminated string';
  };

  /** Reads the value at `at` into `node`; a container is opened on the stack. */
  const readValue = (node: JsonNode, path: () => PathSegment[]): string | undefined => {
    skipSpace();
    node.offset = at;
    const char = text.charAt(at);
    if (char === '{' || char === '[') {
      if (stack.length >= MAX_NESTING_DEPTH) return TOO_DEEP;
      node.children = new Map();
      stack.push({ node, path: path(), array: char === '[', count: 0, afterComma: false });
      at++;
      return undefined;
    }
    if (char === '"') return readString();
    if (char === '-' || (char >= '0' && char <= '9')) {
      JSON_NUMBER.lastIndex = at;
      if (!JSON_NUMBER.test(text)) return 'invalid number';
      at = JSON_NUMBER.lastIndex;
      return undefined;
    }
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, at)) {
        at += literal.length;
        return undefined;
      }
    }
    return `${found()}: expected a value`;
  };

  let error = readValue(root, () => []);
  if (error) return fail([], error);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    const close = frame.array ? ']' : '}';
    skipSpace();
    const char = text.charAt(at);
    if (frame.count > 0 && !frame.afterComma) {
      if (char === ',') {
        frame.afterComma = true;
        at++;
        continue;
      }
      if (char !== close) return fail(frame.path, `${found()}: expected ',' or '${close}'`);
      at++;
      stack.pop();
      continue;
    }
    if (char === close && frame.count === 0) {
      at++;
      stack.pop();
      continue;
    }
    frame.afterComma = false;
    const index = frame.count++;
    let childPath: () => PathSegment[];
    let child: JsonNode;
    if (frame.array) {
      childPath = () => [...frame.path, index];
      child = { offset: at };
      frame.node.children!.set(index, child);
    } else {
      if (char !== '"') return fail(frame.path, `${found()}: expected a property name in double quotes`);
      const keyOffset = at;
      error = readString();
      if (error) return fail(frame.path, error);
      const key = JSON.parse(text.slice(keyOffset, at)) as string;
      childPath = () => [...frame.path, key];
      skipSpace();
      if (text.charAt(at) !== ':')
        return fail(childPath(), `${found()}: expected ':' after the property name`);
      at++;
      child = { offset: at, keyOffset };
      if (frame.node.children!.has(key)) duplicates.push({ path: childPath(), offset: keyOffset });
      frame.node.children!.set(key, child);
    }
    error = readValue(child, childPath);
    if (error) return fail(error === TOO_DEEP ? [] : childPath(), error);
  }
  skipSpace();
  if (at < text.length) return fail([], `${found()} after the end of the document`);
  return { root, duplicates };
}
