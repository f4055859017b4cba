import { describe, expect, it } from 'vitest';
import { MAX_DOCUMENT_BYTES, parseDocument } from '../../../shared/definition/parse.js';

describe('parseDocument › YAML', () => {
  it('reads a YAML mapping into plain data', () => {
    const parsed = parseDocument('id: demo\nsteps:\n  - id: a\n    type: transform\n');
    expect(parsed.format).toBe('yaml');
    expect(parsed.issues).toEqual([]);
    expect(parsed.value).toEqual({ id: 'demo', steps: [{ id: 'a', type: 'transform' }] });
  });

  it('reads YAML 1.2: yes and on stay strings, keys are strings', () => {
    const parsed = parseDocument('a: yes\nb: on\ntrue: 1\n1: 2\n');
    expect(parsed.value).toEqual({ a: 'yes', b: 'on', true: 1, '1': 2 });
  });

  it('locates a mapping entry at its key, 1-based', () => {
    const parsed = parseDocument('steps:\n  - id: a\n    next:\n      ok: b\n  - id: b\n');
    expect(parsed.locate(['steps', 0, 'next', 'ok'])).toEqual({ line: 4, column: 7 });
    expect(parsed.locate(['steps', 1])).toEqual({ line: 5, column: 5 });
    expect(parsed.locate([])).toEqual({ line: 1, column: 1 });
  });

  it('locates a path that goes past the document at the deepest part that exists', () => {
    const parsed = parseDocument('steps:\n  - id: a\n');
    expect(parsed.locate(['steps', 0, 'config', 'url'])).toEqual({ line: 2, column: 5 });
  });

  it('locates through an alias to the anchored value', () => {
    const parsed = parseDocument('base: &b\n  x: 1\ncopy: *b\n');
    expect(parsed.value).toEqual({ base: { x: 1 }, copy: { x: 1 } });
    expect(parsed.locate(['copy', 'x'])).toEqual({ line: 2, column: 3 });
  });

  it('reports a syntax error with its line and column and gives no value', () => {
    const parsed = parseDocument('a: [1, 2\nb: 3\n');
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues).toHaveLength(1);
    expect(parsed.issues[0]).toMatchObject({ line: 2, column: 1 });
    expect(parsed.issues[0]?.message).toMatch(/flow sequence/i);
  });

  it('reports a duplicate key as an error at the second key, and still reads the rest', () => {
    const parsed = parseDocument('id: a\nname: x\nid: b\n');
    expect(parsed.issues).toEqual([
      {
        path: 'id',
        message: "duplicate key 'id': a key may appear only once in a mapping",
        line: 3,
        column: 1,
      },
    ]);
    expect(parsed.value).toMatchObject({ name: 'x' });
  });

  it('names the nested path of a duplicate key', () => {
    const parsed = parseDocument('steps:\n  - id: a\n    type: x\n    id: b\n');
    expect(parsed.issues[0]).toMatchObject({ path: 'steps[0].id', line: 4, column: 5 });
  });

  it('accepts a few aliases', () => {
    const parsed = parseDocument('h: &h {a: 1}\nx: [*h, *h, *h]\n');
    expect(parsed.issues).toEqual([]);
    expect(parsed.value).toEqual({ h: { a: 1 }, x: [{ a: 1 }, { a: 1 }, { a: 1 }] });
  });

  it('refuses an alias bomb (billion laughs)', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [name, previous] of [
      ['b', 'a'],
      ['c', 'b'],
      ['d', 'c'],
      ['e', 'd'],
      ['f', 'e'],
    ]) {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
    }
    const parsed = parseDocument(`${lines.join('\n')}\n`);
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues).toEqual([
      { path: '(root)', message: expect.stringMatching(/aliases expand too much/) },
    ]);
  });

  it('refuses a stream of several documents, pointing at the second', () => {
    const parsed = parseDocument('id: a\n---\nid: b\n');
    expect(parsed.issues).toEqual([
      {
        path: '(root)',
        message: "a workflow file holds one YAML document; found 2 (remove the '---' separators)",
        line: 2,
        column: 1,
      },
    ]);
  });

  it('refuses custom tags such as !Ref', () => {
    const parsed = parseDocument('id: !Ref other\n');
    expect(parsed.issues).toEqual([
      expect.objectContaining({
        path: 'id',
        message: expect.stringMatching(/Unresolved tag: !Ref/),
        line: 1,
        column: 5,
      }),
    ]);
  });

  it('calls an empty or comment-only document empty', () => {
    for (const text of ['', '   \n', '# nothing here\n', '---\n']) {
      expect(parseDocument(text).issues).toEqual([{ path: '(root)', message: 'the document is empty' }]);
    }
  });

  it('refuses nesting deeper than 100 levels without running out of stack', () => {
    const flow = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const parsed = parseDocument(flow, 'yaml');
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues[0]?.message).toBe('the document is nested more than 100 levels deep');
    const compact = parseDocument(`${'- '.repeat(150_000)}1\n`);
    expect(compact.issues[0]?.message).toBe('the document is nested more than 100 levels deep');
  });

  it('reads nesting of exactly 100 levels', () => {
    const parsed = parseDocument(`${'['.repeat(100)}${']'.repeat(100)}`, 'yaml');
    expect(parsed.issues).toEqual([]);
  });
});

describe('parseDocument › JSON', () => {
  it('detects JSON by its first character and reads it', () => {
    const parsed = parseDocument('  {"id": "demo", "steps": []}');
    expect(parsed.format).toBe('json');
    expect(parsed.value).toEqual({ id: 'demo', steps: [] });
    expect(parsed.issues).toEqual([]);
  });

  it('locates values and keys in JSON', () => {
    const parsed = parseDocument(
      '{\n  "steps": [\n    {"id": "a", "next": {"ok": "b"}},\n    {"id": "b"}\n  ]\n}',
    );
    expect(parsed.locate(['steps', 0, 'next', 'ok'])).toEqual({ line: 3, column: 26 });
    expect(parsed.locate(['steps', 1])).toEqual({ line: 4, column: 5 });
    expect(parsed.locate(['steps', 1, 'config'])).toEqual({ line: 4, column: 5 });
  });

  it('reports a syntax error with its path, line and column', () => {
    const parsed = parseDocument('{\n  "id": "a",\n  "steps": tru\n}');
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues).toEqual([
      { path: 'steps', message: 'unexpected "t": expected a value', line: 3, column: 12 },
    ]);
  });

  it('reports a trailing comma, an unquoted key and content after the end', () => {
    expect(parseDocument('[1,]').issues[0]).toMatchObject({
      path: '[1]',
      message: 'unexpected "]": expected a value',
    });
    expect(parseDocument('{a: 1}').issues[0]?.message).toBe(
      'unexpected "a": expected a property name in double quotes',
    );
    expect(parseDocument('{"a": 1} x').issues[0]).toMatchObject({
      path: '(root)',
      message: 'unexpected "x" after the end of the document',
      column: 10,
    });
    expect(parseDocument('{"a": "x').issues[0]?.message).toBe('unterminated string');
  });

  it('does not read a JSON typo as a YAML flow mapping', () => {
    const parsed = parseDocument('{"id": }');
    expect(parsed.format).toBe('json');
    expect(parsed.value).toBeUndefined();
  });

  it('reports a duplicate key as an error', () => {
    const parsed = parseDocument('{"id": "a",\n "id": "b"}');
    expect(parsed.issues).toEqual([
      {
        path: 'id',
        message: "duplicate key 'id': a key may appear only once in an object",
        line: 2,
        column: 2,
      },
    ]);
  });

  it('reads JSON with a byte order mark, keeping columns', () => {
    const parsed = parseDocument('\uFEFF{"id": "a"}');
    expect(parsed.value).toEqual({ id: 'a' });
    expect(parsed.locate(['id'])).toEqual({ line: 1, column: 3 });
  });

  it('keeps __proto__ as an ordinary key rather than a prototype', () => {
    const parsed = parseDocument('{"__proto__": {"polluted": true}}');
    expect(Object.getPrototypeOf(parsed.value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses nesting deeper than 100 levels', () => {
    const parsed = parseDocument(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
    expect(parsed.issues).toEqual([
      { path: '(root)', message: 'the document is nested more than 100 levels deep', line: 1, column: 101 },
    ]);
  });

  it('reads YAML when told so, even when it starts with {', () => {
    const parsed = parseDocument('{id: a}', 'yaml');
    expect(parsed.value).toEqual({ id: 'a' });
  });
});

describe('parseDocument › size', () => {
  it('refuses a document over 1 MB before reading it', () => {
    const text = `id: a\nname: "${'x'.repeat(MAX_DOCUMENT_BYTES)}"\n`;
    const parsed = parseDocument(text);
    expect(parsed.value).toBeUndefined();
    expect(parsed.issues[0]?.message).toMatch(/the limit is 1048576 bytes \(1 MB\)/);
  });

  it('counts bytes, not characters', () => {
    const text = `"${'é'.repeat(MAX_DOCUMENT_BYTES / 2)}"`;
    expect(parseDocument(text).issues[0]?.message).toMatch(/the limit is/);
  });
});
