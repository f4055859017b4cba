/** Loads the workflows of a folder into the local stores: what `npm start` and `flowrunner invoke` serve. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { validateWorkflow } from '../../shared/definition/validate.js';
import { NotFoundError } from '../../shared/errors.js';
import type { LocalRuntime } from './runtime.js';

/** Creates each workflow of the folder that is not stored yet, and a new version of any that changed. */
export async function loadWorkflows(runtime: LocalRuntime, dir: string): Promise<string[]> {
  const store = runtime.local.stores.workflows;
  const loaded: string[] = [];
  for (const name of (await readdir(dir)).filter((f) => /\.(ya?ml|json)$/.test(f)).sort()) {
    const text = await readFile(join(dir, name), 'utf8');
    const result = validateWorkflow(text, name.endsWith('.json') ? { format: 'json' } : {});
    if (!result.workflow) {
      process.stderr.write(
        `flowrunner: ${name} is not a valid workflow: ${result.errors[0]?.path}: ${result.errors[0]?.message}\n`,
      );
      continue;
    }
    const now = new Date();
    try {
      const current = await store.get(result.workflow.id);
      if (JSON.stringify(current.definition) !== JSON.stringify(result.workflow)) {
        const updated = await store.update(result.workflow, now);
        loaded.push(`${updated.id} v${updated.version} (updated)`);
      }
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      const created = await store.create(result.workflow, now);
      loaded.push(`${created.id} v${created.version}`);
    }
  }
  return loaded;
}
