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

/**
 * The clients only some functions use: the API manages schedules (EventBridge Scheduler) and puts
 * events on the bus (EventBridge); Advance and the notification retries mail people (SES). Any other
 * bundle that carried them would parse and evaluate them at every cold start for nothing.
 */
/** Advance runs ai_generate, the API answers POST /v1/ai/infer; no other function calls a model. */
const CALLS_A_MODEL: readonly LambdaName[] = ['advance', 'api'];
const MODEL_CLIENTS = ['openai', '@aws-sdk/client-bedrock-runtime'];

const CLIENTS_OF_SOME = {
  '@aws-sdk/client-scheduler': ['api'],
  '@aws-sdk/client-eventbridge': ['api'],
  '@aws-sdk/client-sesv2': ['advance', 'notify_retry'],
} as const satisfies Record<string, readonly LambdaName[]>;

describe.each(Object.keys(LAMBDA_ENTRIES) as LambdaName[])('the %s bundle', (name) => {
  it('carries only the clients of some functions that this function uses', async () => {
    const all = Object.keys((await bundleFunction(name)).inputs);
    const carried = Object.keys(CLIENTS_OF_SOME).filter((client) => inPackage(all, client));
    const used = Object.entries(CLIENTS_OF_SOME)
      .filter(([, users]) => (users as readonly LambdaName[]).includes(name))
      .map(([client]) => client);
    expect(carried).toEqual(used);
  }, 60_000);

  it('leaves out the packages it never runs, and reaches them only through dynamic imports', async () => {
    const metafile = await bundleFunction(name);
    const leftOut = ['nodemailer', ...(CALLS_A_MODEL.includes(name) ? [] : MODEL_CLIENTS)];
    expect(leftOut.filter((pkg) => inPackage(Object.keys(metafile.inputs), pkg))).toEqual([]);
    for (const pkg of leftOut) {
      // A static import of a package the bundle leaves out would fail the function at its cold start.
      const imports = Object.values(metafile.inputs).flatMap((input) =>
        input.imports.filter((imported) => imported.path === pkg),
      );
      expect(imports.length, pkg).toBeGreaterThan(0);
      expect(
        imports.every((imported) => imported.external && imported.kind === 'dynamic-import'),
        pkg,
      ).toBe(true);
    }
  }, 60_000);

  it('carries the model clients only if it calls a model', async () => {
    const all = Object.keys((await bundleFunction(name)).inputs);
    expect(MODEL_CLIENTS.filter((pkg) => inPackage(all, pkg))).toEqual(
      CALLS_A_MODEL.includes(name) ? MODEL_CLIENTS : [],
    );
  }, 60_000);
});
