/**
 * The pure core stays pure (ARCHITECTURE.md, "One way to build the engine"): the definition, the
 * engine transition, expressions, step contracts and the JSON Schema module import no `node:`
 * module, no AWS SDK and no local stand-in, and reach outside themselves only for shared/errors.ts
 * and the types of shared/ports/. What runs on a host (V8 flags, sockets, files, clocks) comes in
 * through the ports or the composition root.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const PURE_FOLDERS = [
  'shared/definition',
  'shared/engine',
  'shared/expressions',
  'shared/steps',
  'shared/json-schema',
  'shared/net',
  'shared/triggers',
  'shared/observability',
];
/**
 * Outside the pure folders, what they may import: the errors, the Awaitable helpers, package.json
 * (data: api_call's User-Agent names the version), and the ports' types only.
 */
const ALLOWED_FILES = ['shared/errors.ts', 'shared/awaitable.ts', 'package.json'];
const TYPE_ONLY_FOLDERS = ['shared/ports'];

const BUILTINS = new Set(builtinModules.flatMap((name) => [name, name.split('/')[0]!]));

interface Import {
  specifier: string;
  typeOnly: boolean;
}

/** Static imports and re-exports (multi-line too), side-effect imports, and dynamic `import()`/`require()` of a literal. */
function importsOf(source: string): Import[] {
  const found: Import[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const match of source.matchAll(statement)) {
    found.push({ specifier: match[3]!, typeOnly: match[2] !== undefined });
  }
  for (const match of source.matchAll(/\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    found.push({ specifier: match[1]!, typeOnly: false });
  }
  return found;
}

function tsFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

const inFolder = (file: string, folder: string) => file.startsWith(`${folder}/`);

/** What is wrong with one import of a pure file, or undefined. */
function violation(file: string, { specifier, typeOnly }: Import): string | undefined {
  if (specifier.startsWith('.')) {
    const target = relative(ROOT, resolve(ROOT, dirname(file), specifier))
      .split(sep)
      .join('/')
      .replace(/\.js$/, '.ts');
    if (PURE_FOLDERS.some((folder) => inFolder(target, folder)) || ALLOWED_FILES.includes(target))
      return undefined;
    if (typeOnly && TYPE_ONLY_FOLDERS.some((folder) => inFolder(target, folder))) return undefined;
    return `${file} imports '${specifier}' (${target})`;
  }
  const forbidden =
    specifier.startsWith('node:') ||
    BUILTINS.has(specifier.split('/')[0]!) ||
    specifier.startsWith('@aws-sdk/') ||
    specifier === 'dynalite' ||
    specifier === 's3rver';
  return forbidden ? `${file} imports '${specifier}'` : undefined;
}

describe('the pure core', () => {
  const files = PURE_FOLDERS.flatMap(tsFiles);
  const violations = files.flatMap((file) =>
    importsOf(readFileSync(join(ROOT, file), 'utf8')).flatMap((found) => violation(file, found) ?? []),
  );

  it('is where the test looks for it', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files).toContain('shared/json-schema/linear-regexp.ts');
  });

  it('imports no node: module, AWS SDK or stand-in, and nothing outside itself but errors and port types', () => {
    expect(violations).toEqual([]);
  });
});

describe('importsOf', () => {
  it('reads every form of import the rule cares about', () => {
    const source = [
      "import a from 'node:fs';",
      "import type { B } from '../ports/index.js';",
      'import {',
      '  c,',
      '  type D,',
      "} from './c.js';",
      "import './side-effect.js';",
      "export { e } from '../e.js';",
      "export * from 'crypto';",
      "const f = await import('node:v8');",
      "// A comment that mentions import x from 'y' is not at the start of a statement.",
    ].join('\n');
    expect(importsOf(source)).toEqual([
      { specifier: 'node:fs', typeOnly: false },
      { specifier: '../ports/index.js', typeOnly: true },
      { specifier: './c.js', typeOnly: false },
      { specifier: './side-effect.js', typeOnly: false },
      { specifier: '../e.js', typeOnly: false },
      { specifier: 'crypto', typeOnly: false },
      { specifier: 'node:v8', typeOnly: false },
    ]);
  });

  it('judges imports as the rule says', () => {
    const file = 'shared/steps/x.ts';
    expect(violation(file, { specifier: 'node:http', typeOnly: false })).toBeDefined();
    expect(violation(file, { specifier: 'crypto', typeOnly: false })).toBeDefined();
    expect(violation(file, { specifier: '@aws-sdk/client-s3', typeOnly: false })).toBeDefined();
    expect(violation(file, { specifier: 'dynalite', typeOnly: false })).toBeDefined();
    expect(violation(file, { specifier: '../storage/local/s3rver.js', typeOnly: false })).toBeDefined();
    expect(violation(file, { specifier: '../ports/index.js', typeOnly: false })).toBeDefined();
    expect(violation(file, { specifier: '../ports/index.js', typeOnly: true })).toBeUndefined();
    expect(violation(file, { specifier: '../errors.js', typeOnly: false })).toBeUndefined();
    expect(violation(file, { specifier: '../json-schema/index.js', typeOnly: false })).toBeUndefined();
    expect(violation(file, { specifier: 'zod', typeOnly: false })).toBeUndefined();
  });
});
