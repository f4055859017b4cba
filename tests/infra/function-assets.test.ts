// The API function's bundle carries Redoc's script for /docs; the hot functions carry nothing extra.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { DOCS_SCRIPT_FILE, DOCS_SCRIPT_MODULE } from '../../functions/api/docs-page.js';
import { FlowFunction } from '../../infra/constructs/flow-function.js';
import { projectPath } from '../../infra/constructs/paths.js';
import { addFlowrunner } from '../../infra/stacks/flowrunner.js';
import { appForTests } from '../support/cdk.js';

describe('function assets', () => {
  it('gives the API function the reference page script, and Advance and AwaitSignal nothing', () => {
    const app = appForTests();
    const { engine } = addFlowrunner(app, {});
    expect(engine.httpApi.handler.assets).toEqual([`node_modules/${DOCS_SCRIPT_MODULE}`]);
    expect(engine.runs.advance.assets).toEqual([]);
    expect(engine.runs.awaitSignal.assets).toEqual([]);
  });

  it('copies an asset beside the bundle esbuild writes', { timeout: 120_000 }, () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'flowrunner-assets-')) });
    const stack = new Stack(app, 'Assets');
    const fn = new FlowFunction(stack, 'Api', {
      entry: 'functions/api/docs-page.ts',
      description: 'bundle with an asset',
      timeout: Duration.seconds(3),
      memorySize: 128,
      assets: [`node_modules/${DOCS_SCRIPT_MODULE}`],
    });
    const assembly = app.synth();
    const code = Template.fromStack(stack).findResources('AWS::Lambda::Function')[
      stack.getLogicalId(fn.function.node.defaultChild as never)
    ] as { Properties: { Code: { S3Key: string } } };
    const dir = join(assembly.directory, `asset.${code.Properties.Code.S3Key.replace(/\.zip$/, '')}`);
    expect(readdirSync(dir).sort()).toEqual(expect.arrayContaining(['index.mjs', DOCS_SCRIPT_FILE]));
    expect(
      readFileSync(join(dir, DOCS_SCRIPT_FILE)).equals(
        readFileSync(projectPath(`node_modules/${DOCS_SCRIPT_MODULE}`)),
      ),
    ).toBe(true);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    rmSync(assembly.directory, { recursive: true, force: true });
  });
});
