/**
 * Importing the JSON Schema module compiles no RE2 program: the linear-time `url` format is compiled
 * when a schema first checks one. Compiling it case-folds Unicode ranges (about 45 ms of CPU), which
 * every Lambda cold start paid at import when it was compiled at module scope.
 */
import { describe, expect, it, vi } from 'vitest';

const compiled = vi.hoisted(() => ({ patterns: [] as string[] }));

vi.mock('re2js', async (original) => {
  const { RE2JS } = await original<typeof import('re2js')>();
  const compile: typeof RE2JS.compile = (pattern, flags) => {
    compiled.patterns.push(pattern);
    return RE2JS.compile(pattern, flags);
  };
  return { RE2JS: Object.assign(Object.create(RE2JS) as typeof RE2JS, { compile }) };
});

describe('format: url at cold start', () => {
  it('is compiled on the first check of a url, once, not when the module is imported', async () => {
    const { compileJsonSchema } = await import('../../../shared/json-schema/index.js');
    const schema = compileJsonSchema({ type: 'string', format: 'url' });
    // Ajv compiles its meta-schema's small patterns; the url program is the one that speaks of ftp.
    const urlPrograms = () => compiled.patterns.filter((pattern) => pattern.includes('ftp'));
    expect(urlPrograms()).toEqual([]);

    expect(schema('https://example.com/a')).toBe(true);
    expect(schema('not a url')).toBe(false);
    expect(urlPrograms()).toHaveLength(1);
  });
});
