/** The SecretSource on one machine: `FLOWRUNNER_SECRET_<NAME>` variables first, then `<dataDir>/secrets.json`. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError } from '../errors.js';
import type { SecretSource } from '../ports/index.js';
import { checkSecretName } from './names.js';

export const SECRET_VARIABLE_PREFIX = 'FLOWRUNNER_SECRET_';
export const SECRETS_FILE = 'secrets.json';

export interface LocalSecretsOptions {
  /** `FLOWRUNNER_DATA_DIR`, `.flowrunner/` by default; the file is `<dataDir>/secrets.json`. */
  dataDir: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/** `db-main.url` → `FLOWRUNNER_SECRET_DB_MAIN_URL`. */
export function secretVariable(name: string): string {
  return SECRET_VARIABLE_PREFIX + name.toUpperCase().replace(/[-.]/g, '_');
}

export function createLocalSecrets({ dataDir, env = process.env }: LocalSecretsOptions): SecretSource {
  const file = join(dataDir, SECRETS_FILE);
  let loaded: { stamp: string; secrets: ReadonlyMap<string, string> } | undefined;

  /** The file's secrets, read again only when its modification time (or size) changed since the last read. */
  async function fromFile(): Promise<ReadonlyMap<string, string>> {
    let stamp: string;
    try {
      const stats = await stat(file);
      stamp = `${stats.mtimeMs}:${stats.size}:${stats.ino}`;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw unreadable(file, error);
    }
    if (loaded?.stamp === stamp) return loaded.secrets;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw unreadable(file, error);
    }
    const secrets = parseSecretsFile(text, file);
    loaded = { stamp, secrets };
    return secrets;
  }

  return {
    async get(name) {
      checkSecretName(name);
      const variable = secretVariable(name);
      const fromEnv = env[variable];
      // An empty variable counts as unset: `export X=` is how a shell clears one.
      if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
      const value = (await fromFile()).get(name);
      if (value !== undefined) return value;
      throw new ConfigurationError(
        `secret '${name}' was not found: set the variable ${variable} or add "${name}" to ${file}`,
        { code: 'SecretNotFound', details: { secret: name, variable, file } },
      );
    },
  };
}

function unreadable(file: string, error: unknown): ConfigurationError {
  const code = (error as NodeJS.ErrnoException).code ?? 'an unknown error';
  return new ConfigurationError(`the secrets file ${file} cannot be read (${code})`, {
    code: 'SecretsFileInvalid',
    details: { file },
  });
}

/**
 * `{ "name": "value", "db": { "user": "...", "password": "..." } }`: a JSON object is kept as its
 * JSON text, which `secrets.db.user` reads. Errors say where, never what: the file holds secrets, so
 * neither the parser's message (it quotes the text) nor a value appears in them.
 */
export function parseSecretsFile(text: string, file: string): ReadonlyMap<string, string> {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    const position = /at position (\d+)/.exec(message)?.[1];
    const offset =
      position !== undefined ? Number(position) : /end of JSON/i.test(message) ? source.length : -1;
    const where = offset < 0 ? '' : ` at ${location(source, offset)}`;
    throw new ConfigurationError(`the secrets file ${file} is not valid JSON${where}`, {
      code: 'SecretsFileInvalid',
      details: { file, ...(offset < 0 ? {} : lineAndColumn(source, offset)) },
    });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigurationError(
      `the secrets file ${file} must hold a JSON object of secret names to values (a string or a JSON object)`,
      { code: 'SecretsFileInvalid', details: { file } },
    );
  }
  const secrets = new Map<string, string>();
  for (const [name, value] of Object.entries(parsed)) {
    if (typeof value === 'string') secrets.set(name, value);
    else if (typeof value === 'object' && value !== null && !Array.isArray(value))
      secrets.set(name, JSON.stringify(value));
    else {
      const offset = source.indexOf(JSON.stringify(name));
      const where = offset < 0 ? '' : ` (${location(source, offset)})`;
      throw new ConfigurationError(
        `the secrets file ${file}: secret '${name}'${where} must be a string or a JSON object`,
        { code: 'SecretsFileInvalid', details: { file, secret: name } },
      );
    }
  }
  return secrets;
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function location(text: string, offset: number): string {
  const { line, column } = lineAndColumn(text, offset);
  return `line ${line}, column ${column}`;
}
