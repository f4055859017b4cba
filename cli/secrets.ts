/** The CLI's secrets: `FLOWRUNNER_SECRET_<NAME>` variables, then `<FLOWRUNNER_DATA_DIR>/secrets.json`. */
import { resolve } from 'node:path';
import type { SecretSource } from '../shared/ports/index.js';
import { createLocalSecrets } from '../shared/secrets/local.js';

export function localSecretsFromEnv(env: NodeJS.ProcessEnv): SecretSource {
  return createLocalSecrets({ dataDir: resolve(env.FLOWRUNNER_DATA_DIR ?? '.flowrunner'), env });
}
