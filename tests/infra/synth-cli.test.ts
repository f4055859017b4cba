/**
 * `npm run synth` exactly as a user runs it: the CDK CLI, offline, the app under tsx with cdk.json's
 * context, cdk-nag's checks failing the synthesis on any finding without an acknowledgement. The
 * other infra tests build the app in process; this one caught what only the real path showed (an
 * import tsx's ESM loader refuses, a finding whose ARN resolves with the CLI's Region).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const out = await mkdtemp(join(tmpdir(), 'flowrunner-synth-'));
afterAll(() => rm(out, { recursive: true, force: true }));

describe('npm run synth', () => {
  it('synthesizes both stacks offline with cdk-nag clean', async () => {
    const { stdout, stderr } = await promisify(execFile)(
      'npm',
      ['run', '-s', 'synth', '--', '-o', out, '-q'],
      {
        cwd: new URL('../..', import.meta.url),
        env: { ...process.env, NO_COLOR: '1' },
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    expect(`${stdout}${stderr}`).not.toMatch(/\bERROR\b|Synthesis finished with errors/);
    expect((await readdir(out)).sort()).toEqual(
      expect.arrayContaining(['FlowrunnerData.template.json', 'FlowrunnerEngine.template.json']),
    );
  });
});
