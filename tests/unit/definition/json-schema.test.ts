import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  WORKFLOW_SCHEMA_ID,
  workflowJsonSchema,
  workflowJsonSchemaText,
} from '../../../shared/definition/json-schema.js';
import { onboarding, transformStep, workflowWith } from './helpers.js';

const committedPath = new URL('../../../schema/workflow.schema.json', import.meta.url);
const scriptPath = new URL('../../../scripts/export-schema.ts', import.meta.url);
const tsx = new URL('../../../node_modules/.bin/tsx', import.meta.url);

function compileExported() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(committedPath, 'utf8')));
}

describe('schema/workflow.schema.json', () => {
  it('is the fresh export of the zod schema (run `npm run schema` after changing it)', () => {
    expect(readFileSync(committedPath, 'utf8')).toBe(workflowJsonSchemaText());
  });

  it('is a JSON Schema 2020-12 with an $id, a title and a description', () => {
    const schema = workflowJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(WORKFLOW_SCHEMA_ID);
    expect(schema.title).toBe('Flowrunner workflow');
    expect(schema.description).toMatch(/schema_version 1\.x/);
    expect(workflowJsonSchemaText().endsWith('}\n')).toBe(true);
  });

  it('accepts the onboarding example of CONTRACT §1', () => {
    const validate = compileExported();
    expect(validate(onboarding())).toBe(true);
  });

  it('lets authors leave out fields that have defaults', () => {
    const validate = compileExported();
    const step = { id: 'call', type: 'api_call', config: { url: '/x' }, retry: { max_attempts: 2 } };
    expect(validate(workflowWith([step]))).toBe(true);
  });

  it('rejects broken documents: a missing id, an unknown step type, a bad config, an unknown field', () => {
    const validate = compileExported();
    const { id: _id, ...withoutId } = onboarding();
    expect(validate(withoutId)).toBe(false);
    expect(validate(workflowWith([{ id: 'a', type: 'emial', config: {} }]))).toBe(false);
    expect(
      validate(workflowWith([{ id: 'a', type: 'api_call', config: { method: 'FETCH', url: '/x' } }])),
    ).toBe(false);
    expect(validate(workflowWith([{ ...transformStep('a'), colour: 'red' }]))).toBe(false);
    expect(validate(workflowWith([transformStep('a', 5)]))).toBe(false);
  });
});

describe('the defaults the schema shows', () => {
  /** Every subschema that has a `default`, with where it is (a property named `default` is no default). */
  function withDefaults(schema: unknown, at = '#'): Array<{ at: string; schema: Record<string, unknown> }> {
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return [];
    const node = schema as Record<string, unknown>;
    const found = 'default' in node ? [{ at, schema: node }] : [];
    for (const key of ['properties', 'patternProperties', '$defs', 'dependentSchemas']) {
      for (const [name, sub] of Object.entries((node[key] as Record<string, unknown> | undefined) ?? {})) {
        found.push(...withDefaults(sub, `${at}/${key}/${name}`));
      }
    }
    for (const key of [
      'items',
      'additionalProperties',
      'not',
      'if',
      'then',
      'else',
      'contains',
      'propertyNames',
    ]) {
      found.push(...withDefaults(node[key], `${at}/${key}`));
    }
    for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) {
      ((node[key] as unknown[] | undefined) ?? []).forEach((sub, i) => {
        found.push(...withDefaults(sub, `${at}/${key}/${i}`));
      });
    }
    return found;
  }

  it('are each valid against the schema they are the default of (no `config: {}` under a type with required fields)', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const defaults = withDefaults(workflowJsonSchema());
    expect(defaults.length).toBeGreaterThan(10);
    const failing = defaults.filter(({ schema }) => {
      const { default: value, ...rest } = schema;
      return !ajv.validate(rest, value);
    });
    expect(failing.map((f) => `${f.at}: ${JSON.stringify(f.schema.default)}`)).toEqual([]);
  });
});

describe('scripts/export-schema.ts --check', () => {
  const run = (...args: string[]) => promisify(execFile)(tsx.pathname, [scriptPath.pathname, ...args]);

  it('passes when the file is fresh', async () => {
    const { stdout } = await run('--check');
    expect(stdout).toMatch(/is up to date/);
  });

  it('exits 1 when the file is stale', async () => {
    const stale = join(mkdtempSync(join(tmpdir(), 'flowrunner-schema-')), 'workflow.schema.json');
    writeFileSync(stale, '{}\n');
    await expect(run('--check', stale)).rejects.toMatchObject({ code: 1 });
  });
});
