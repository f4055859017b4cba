/** The Lambda bundles as FlowFunction builds them: what goes in, and what is loaded only when used. */
import type { Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENTRIES, type LambdaName } from '../../infra/constructs/bundling.js';
import { bundleFunction } from '../bench/cold-start.js';

/** The inputs reachable from the entry through static imports only (what importing the bundle evaluates). */
function staticallyImported(metafile: Metafile, entry: string): Set<string> {
  const seen = new Set<string>([entry]);
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    for (const imported of metafile.inputs[file]?.imports ?? []) {
      if (imported.kind === 'dynamic-import' || imported.external || seen.has(imported.path)) continue;
      seen.add(imported.path);
      queue.push(imported.path);
    }
  }
  return seen;
}

const inPackage = (files: Iterable<string>, name: string) =>
  [...files].some((file) => file.includes(`node_modules/${name}/`));

describe.each(Object.keys(LAMBDA_ENTRIES) as LambdaName[])('the %s bundle', (name) => {
  it('carries the AWS SDK itself, and loads the S3 client and presigner only when first used', async () => {
    const metafile = await bundleFunction(name);
    const all = Object.keys(metafile.inputs);
    expect(inPackage(all, '@aws-sdk/client-dynamodb')).toBe(true);
    expect(inPackage(all, '@aws-sdk/client-s3')).toBe(true);
    const atImport = staticallyImported(metafile, LAMBDA_ENTRIES[name]);
    expect(inPackage(atImport, '@aws-sdk/client-dynamodb')).toBe(true);
    expect(inPackage(atImport, '@aws-sdk/client-s3')).toBe(false);
    expect(inPackage(atImport, '@aws-sdk/s3-request-presigner')).toBe(false);
  }, 60_000);
});
