/** Writes docs/cli.md from the command definitions (`npm run docs:cli`). */
import { writeFile } from 'node:fs/promises';
import { COMMANDS } from '../cli/commands.js';
import { markdownReference } from '../cli/spec.js';

await writeFile(new URL('../docs/cli.md', import.meta.url), markdownReference(COMMANDS));
