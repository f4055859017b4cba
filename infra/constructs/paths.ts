/** Paths inside the repository, wherever the CDK app is started from. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** An absolute path from one relative to the repository root. */
export function projectPath(relative: string): string {
  return resolve(root, relative);
}
