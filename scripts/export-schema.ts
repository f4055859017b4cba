/**
 * Writes the workflow language's JSON Schema (`npm run schema`) to `schema/workflow.schema.json`,
 * or to the path given; with `--check`, writes nothing and exits 1 when the file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { workflowJsonSchemaText } from '../shared/definition/json-schema.js';

const args = process.argv.slice(2);
const check = args.includes('--check');
const target =
  args.find((arg) => !arg.startsWith('--')) ??
  fileURLToPath(new URL('../schema/workflow.schema.json', import.meta.url));
const fresh = workflowJsonSchemaText();

if (check) {
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== fresh) {
    console.error(`${target} is stale: run \`npm run schema\` and commit the result`);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  writeFileSync(target, fresh);
  console.log(`wrote ${target} (${fresh.length} bytes)`);
}
