/**
 * scripts/build.mjs: dist/ holds the CLI and the server as JavaScript, and knows when a source
 * changed; the CLI's entry loads no package until a command runs (what keeps `--help` fast).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
let outdir: string;

const build = (...args: string[]) =>
  exec(process.execPath, ['scripts/build.mjs', '--outdir', outdir, ...args]);

beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'flowrunner-build-'));
  await build();
}, 60_000);

afterAll(async () => {
  await rm(outdir, { recursive: true, force: true });
});

interface Manifest {
  inputs: Record<string, { mtimeMs: number; size: number }>;
  outputs: string[];
}

describe('scripts/build.mjs', () => {
  it('builds the CLI and the server, and records the sources it read', async () => {
    expect(existsSync(join(outdir, 'cli.mjs'))).toBe(true);
    expect(existsSync(join(outdir, 'server.mjs'))).toBe(true);
    const manifest = JSON.parse(await readFile(join(outdir, 'build.json'), 'utf8')) as Manifest;
    const inputs = Object.keys(manifest.inputs);
    expect(inputs).toEqual(
      expect.arrayContaining(['cli/main.ts', 'infra/local/main.ts', 'cli/validate.ts', 'package.json']),
    );
    expect(inputs.filter((file) => file.includes('node_modules/'))).toEqual([]);
    for (const output of manifest.outputs) expect(existsSync(join(outdir, output))).toBe(true);
  });

  it('imports only Node built-ins and its own chunks before a command runs', async () => {
    const cli = await readFile(join(outdir, 'cli.mjs'), 'utf8');
    const specifiers = [...cli.matchAll(/^(?:import|export)\b[^'"]*?(?:from\s*)?["']([^"']+)["']/gm)].map(
      (match) => match[1]!,
    );
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !s.startsWith('node:') && !s.startsWith('./'))).toEqual([]);
  });

  it('rebuilds with --if-stale only when a recorded source changed', async () => {
    expect((await build('--if-stale')).stdout).toMatch(/up to date/);
    const path = join(outdir, 'build.json');
    const manifest = JSON.parse(await readFile(path, 'utf8')) as Manifest;
    manifest.inputs['cli/main.ts']!.mtimeMs -= 1000; // as if cli/main.ts had been edited since
    await writeFile(path, JSON.stringify(manifest));
    expect((await build('--if-stale')).stdout).toMatch(/built/);
    expect((await build('--if-stale')).stdout).toMatch(/up to date/);
  }, 60_000);
});
