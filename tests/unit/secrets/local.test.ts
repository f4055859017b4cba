/**
 * The local SecretSource: `FLOWRUNNER_SECRET_<NAME>` variables win over `<dataDir>/secrets.json`,
 * the file is re-read when it changes, and errors say where to look without showing any value.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../shared/errors.js';
import { createLocalSecrets, secretVariable } from '../../../shared/secrets/local.js';
import { failure } from '../../support/failure.js';

let dataDir: string;
let file: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'flowrunner-secrets-'));
  file = join(dataDir, 'secrets.json');
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

function writeSecrets(content: unknown, mtime?: Date): void {
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  if (mtime !== undefined) utimesSync(file, mtime, mtime);
}

describe('secretVariable', () => {
  it.each([
    ['mail_token', 'FLOWRUNNER_SECRET_MAIL_TOKEN'],
    ['db-main.url', 'FLOWRUNNER_SECRET_DB_MAIN_URL'],
    ['OpenAI', 'FLOWRUNNER_SECRET_OPENAI'],
  ])('maps %s to %s', (name, variable) => {
    expect(secretVariable(name)).toBe(variable);
  });
});

describe('createLocalSecrets', () => {
  it('reads a secret from its FLOWRUNNER_SECRET_ variable', async () => {
    const secrets = createLocalSecrets({ dataDir, env: { FLOWRUNNER_SECRET_DB_MAIN_URL: 'postgres://x' } });

    expect(await secrets.get('db-main.url')).toBe('postgres://x');
  });

  it('reads a secret from secrets.json, a JSON object as its JSON text', async () => {
    const db = { user: 'app', password: 'pa55' };
    writeSecrets({ token: 'from-file', db });
    const secrets = createLocalSecrets({ dataDir, env: {} });

    expect(await secrets.get('token')).toBe('from-file');
    expect(JSON.parse(await secrets.get('db'))).toEqual(db);
  });

  it('prefers the variable over the file', async () => {
    writeSecrets({ token: 'from-file' });
    const secrets = createLocalSecrets({ dataDir, env: { FLOWRUNNER_SECRET_TOKEN: 'from-env' } });

    expect(await secrets.get('token')).toBe('from-env');
  });

  it('treats an empty variable as unset', async () => {
    writeSecrets({ token: 'from-file' });
    const secrets = createLocalSecrets({ dataDir, env: { FLOWRUNNER_SECRET_TOKEN: '' } });

    expect(await secrets.get('token')).toBe('from-file');
  });

  it('re-reads the file when it changed, and not before', async () => {
    writeSecrets({ token: 'old1' }, new Date('2026-01-01T00:00:00Z'));
    const secrets = createLocalSecrets({ dataDir, env: {} });
    expect(await secrets.get('token')).toBe('old1');

    // Same size and modification time: taken as unchanged, so the remembered value is served.
    writeSecrets({ token: 'old2' }, new Date('2026-01-01T00:00:00Z'));
    const unchanged = await secrets.get('token');
    writeSecrets({ token: 'new-value' }, new Date('2026-01-01T00:00:05Z'));
    const changed = await secrets.get('token');

    expect(unchanged).toBe('old1');
    expect(changed).toBe('new-value');
  });

  it('finds a secret added to the file after the first read', async () => {
    const secrets = createLocalSecrets({ dataDir, env: {} });
    await failure(secrets.get('token'));

    writeSecrets({ token: 'added' });

    expect(await secrets.get('token')).toBe('added');
  });

  it('reports a missing secret as SecretNotFound, naming the variable and the file', async () => {
    writeSecrets({ other: 'x' });
    const secrets = createLocalSecrets({ dataDir, env: {} });

    const error = await failure(secrets.get('mail-token'));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.code).toBe('SecretNotFound');
    expect(error.message).toBe(
      `secret 'mail-token' was not found: set the variable FLOWRUNNER_SECRET_MAIL_TOKEN or add "mail-token" to ${file}`,
    );
  });

  it('reports a missing secret the same way when there is no file at all', async () => {
    const error = await failure(createLocalSecrets({ dataDir, env: {} }).get('token'));

    expect(error).toMatchObject({ code: 'SecretNotFound' });
    expect(error.message).toContain(file);
  });

  it('reports malformed JSON with the file, line and column, and without the text around it', async () => {
    writeSecrets('{\n  "token": "hunter2-secret"\n  "other": "x"\n}\n');
    const secrets = createLocalSecrets({ dataDir, env: {} });

    const error = await failure(secrets.get('token'));

    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: 'SecretsFileInvalid', details: { file, line: 3, column: 3 } });
    expect(error.message).toBe(`the secrets file ${file} is not valid JSON at line 3, column 3`);
    expect(JSON.stringify(error.details)).not.toContain('hunter2');
  });

  it('reports a value that is neither a string nor an object, with its line', async () => {
    writeSecrets('{\n  "token": "ok",\n  "port": 5432\n}\n');

    const error = await failure(createLocalSecrets({ dataDir, env: {} }).get('token'));

    expect(error.message).toBe(
      `the secrets file ${file}: secret 'port' (line 3, column 3) must be a string or a JSON object`,
    );
  });

  it('reports a file that is not an object', async () => {
    writeSecrets('["token"]');

    const error = await failure(createLocalSecrets({ dataDir, env: {} }).get('token'));

    expect(error).toMatchObject({ code: 'SecretsFileInvalid' });
    expect(error.message).toContain('must hold a JSON object');
  });

  it('refuses a name that could not be a secret', async () => {
    const error = await failure(createLocalSecrets({ dataDir, env: {} }).get('../etc/passwd'));

    expect(error).toMatchObject({ code: 'SecretNotFound' });
    expect(error.message).toMatch(/is not valid/);
  });
});
