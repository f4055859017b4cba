/**
 * The document the API serves passes Spectral (`spectral:oas`, .spectral.yaml) and Redocly
 * (`recommended`, redocly.yaml) with no error and no warning: each warning is fixed or turned off
 * in the committed ruleset with its reason. Both CLIs run offline from node_modules/.bin.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setUp } from './support.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
// Neither CLI may reach the network: no telemetry, no update check.
const env = {
  ...process.env,
  REDOCLY_TELEMETRY: 'off',
  REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true',
  NO_UPDATE_NOTIFIER: '1',
  NO_COLOR: '1',
};

/** The CLI's output whatever its exit code (both exit non-zero when they find problems). */
async function output(file: string, args: string[]): Promise<string> {
  try {
    return (await run(file, args, { cwd: root, env, maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    if (failed.stdout) return failed.stdout;
    throw new Error(`${file} failed: ${failed.stderr ?? String(error)}`);
  }
}

let dir: string;
let documentFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flowrunner-openapi-'));
  documentFile = join(dir, 'openapi.json');
  const t = await setUp();
  const answer = await t.call('GET', '/openapi.json');
  await writeFile(documentFile, JSON.stringify(answer.body, null, 2));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the OpenAPI document, linted', () => {
  it('passes spectral:oas with no error or warning', { timeout: 180_000 }, async () => {
    const text = await output(bin('spectral'), [
      'lint',
      documentFile,
      '--ruleset',
      join(root, '.spectral.yaml'),
      '--format',
      'json',
      '--quiet',
    ]);
    // Severity 0 is an error, 1 a warning; hints and information are not reported by spectral:oas.
    const findings = (
      JSON.parse(text.trim() === '' ? '[]' : text) as Array<{
        code: string;
        message: string;
        path: string[];
        severity: number;
      }>
    ).filter((f) => f.severity <= 1);
    expect(findings.map((f) => `${f.code} at ${f.path.join('.')}: ${f.message}`)).toEqual([]);
  });

  it('passes Redocly recommended with no error or warning', { timeout: 180_000 }, async () => {
    const text = await output(bin('redocly'), [
      'lint',
      documentFile,
      '--config',
      join(root, 'redocly.yaml'),
      '--format',
      'json',
    ]);
    const report = JSON.parse(text.slice(text.indexOf('{'))) as {
      totals: { errors: number; warnings: number };
      problems: Array<{ ruleId: string; message: string; location?: Array<{ pointer?: string }> }>;
    };
    expect(report.problems.map((p) => `${p.ruleId} at ${p.location?.[0]?.pointer}: ${p.message}`)).toEqual(
      [],
    );
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('fails a document with a problem (both lints can fail)', { timeout: 180_000 }, async () => {
    const broken = join(dir, 'broken.json');
    // An operation without answers (Redocly), an example that fails its schema (Spectral).
    const invalidExample = { schema: { type: 'integer' }, example: 'not a number' };
    const document = {
      openapi: '3.1.0',
      info: { title: 'x', version: '1' },
      paths: {
        '/a': { get: {} },
        '/b': {
          get: { responses: { 200: { description: 'b', content: { 'application/json': invalidExample } } } },
        },
      },
    };
    await writeFile(broken, JSON.stringify(document));
    const [spectral, redocly] = await Promise.all([
      output(bin('spectral'), [
        'lint',
        broken,
        '--ruleset',
        join(root, '.spectral.yaml'),
        '--format',
        'json',
        '--quiet',
      ]),
      output(bin('redocly'), ['lint', broken, '--config', join(root, 'redocly.yaml'), '--format', 'json']),
    ]);
    expect((JSON.parse(spectral) as Array<{ severity: number }>).some((f) => f.severity === 0)).toBe(true);
    const report = JSON.parse(redocly.slice(redocly.indexOf('{'))) as { totals: { errors: number } };
    expect(report.totals.errors).toBeGreaterThan(0);
  });
});
