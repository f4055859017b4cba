import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.js';
import { fakeTerminal } from '../support/terminal.js';

async function broken(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'flowrunner-cli-'));
  const file = join(dir, 'broken.yaml');
  await writeFile(
    file,
    'schema_version: "1.0"\nid: broken\nsteps:\n  - id: a\n    type: transform\n    config: { output: 1 }\n    next: nowhere\n',
  );
  return file;
}

describe('flowrunner validate', () => {
  it('says a valid workflow is valid and exits 0', async () => {
    const t = fakeTerminal();
    expect(await main(['validate', 'examples/onboarding.yaml'], t.terminal)).toBe(0);
    expect(t.out.join('\n')).toMatch(/onboarding is valid \(5 steps\)/);
  });

  it('reports each problem with file, line and path, and exits 1', async () => {
    const file = await broken();
    const t = fakeTerminal();
    expect(await main(['validate', file], t.terminal)).toBe(1);
    expect(t.out[0]).toMatch(new RegExp(`${file}:7:\\d+  steps\\[0\\]\\.next: .*nowhere`));
    expect(t.out.at(-1)).toBe('✖ 1 problem');
  });

  it('prints JSON with --json', async () => {
    const t = fakeTerminal();
    expect(await main(['validate', await broken(), '--json'], t.terminal)).toBe(1);
    expect(JSON.parse(t.out[0]!)).toMatchObject({
      valid: false,
      errors: [{ path: 'steps[0].next', line: 7 }],
    });
  });

  it('explains a missing file and bad arguments without a stack trace', async () => {
    const t = fakeTerminal();
    expect(await main(['validate', 'nope.yaml'], t.terminal)).toBe(2);
    expect(t.err.join('\n')).toMatch(/ENOENT.*nope\.yaml/);
    expect(await main(['validate'], t.terminal)).toBe(2);
    expect(await main(['frobnicate'], t.terminal)).toBe(2);
    expect(t.err.join('\n')).toMatch(/Unknown command 'frobnicate'/);
  });

  it('has --help', async () => {
    const t = fakeTerminal();
    expect(await main(['validate', '--help'], t.terminal)).toBe(0);
    expect(t.out[0]).toMatch(/^Usage: flowrunner validate <file>/);
  });
});

describe('flowrunner run', () => {
  it('runs a workflow and prints its output', async () => {
    const t = fakeTerminal();
    const code = await main(
      ['run', 'examples/order-checks.yaml', '--input', '{"order_id":"o-7","amount":20}'],
      t.terminal,
    );
    expect(code).toBe(0);
    expect(JSON.parse(t.out[0]!)).toEqual({ order_id: 'o-7', accepted: true, fraud_checked: false });
  });

  it('loads the workflows beside it for child runs', async () => {
    const t = fakeTerminal();
    const inputs = JSON.stringify({ customer: 'acme', items: [{ price: 3, qty: 2 }] });
    expect(await main(['run', 'examples/invoice-batch.yaml', '--input', inputs], t.terminal)).toBe(0);
    expect(JSON.parse(t.out[0]!)).toMatchObject({ total: 6 });
  });

  it('stops with exit code 3 when a person must answer and there is no terminal', async () => {
    const t = fakeTerminal();
    const code = await main(['run', 'examples/review-loop.yaml', '--input', '{"topic":"x"}'], t.terminal);
    expect(code).toBe(3);
    expect(t.err.join('\n')).toMatch(/waits for approval 'review'/);
  });

  it('asks for an approval at the terminal, again after a refused answer', async () => {
    const t = fakeTerminal(
      ['mallory@example.com', 'approve', '', 'editor@example.com', 'approve', 'fine'],
      true,
    );
    const code = await main(['run', 'examples/review-loop.yaml', '--input', '{"topic":"x"}'], t.terminal);
    expect(code).toBe(0);
    expect(t.err.join('\n')).toMatch(/not an approver|may not/i);
    expect(JSON.parse(t.out.join('\n'))).toMatchObject({ drafts: 1 });
    expect(t.asked.filter((q) => q.includes('approver'))).toHaveLength(2);
  });

  it('refuses --input that is not JSON, and inputs that do not fit', async () => {
    const t = fakeTerminal();
    expect(await main(['run', 'examples/order-checks.yaml', '--input', '{bad'], t.terminal)).toBe(2);
    expect(t.err[0]).toMatch(/--input is not JSON/);
    expect(await main(['run', 'examples/order-checks.yaml', '--input', '{}'], t.terminal)).toBe(2);
    expect(t.err.at(-1)).toMatch(/inputs do not fit/);
  });
});

describe('bin/flowrunner.mjs', () => {
  it('runs the CLI as a command', async () => {
    const { stdout } = await promisify(execFile)(
      'node',
      ['bin/flowrunner.mjs', 'validate', 'examples/invoice.yaml'],
      {
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    expect(stdout).toMatch(/invoice is valid/);
  });
});
