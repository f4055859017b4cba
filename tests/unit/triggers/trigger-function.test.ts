/**
 * The trigger function's Lambda entry (functions/trigger.ts, middy and the Powertools logger) as
 * Lambda runs it: one JSON line per event saying what it did, a malformed event refused with the
 * paths of its problems and never its content, an event that starts nothing answered as such. The
 * keys secret is read through aws-sdk-client-mock (the wiring reads it at cold start); no store is
 * touched on these paths.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../../shared/errors.js';

const ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'a',
  AWS_SECRET_ACCESS_KEY: 'b',
  FLOWRUNNER_WORKFLOWS_TABLE: 'flowrunner-workflows',
  FLOWRUNNER_RUNS_TABLE: 'flowrunner-runs',
  FLOWRUNNER_TOKENS_TABLE: 'flowrunner-tokens',
  FLOWRUNNER_LISTENERS_TABLE: 'flowrunner-listeners',
  FLOWRUNNER_BUCKET: 'flowrunner-data-123456789012-eu-west-1',
  FLOWRUNNER_STATE_MACHINE_ARN: 'arn:aws:states:eu-west-1:123456789012:stateMachine:flowrunner-runs',
  FLOWRUNNER_KEYS_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:flowrunner-keys-AbCdEf',
};

const context = {
  functionName: 'flowrunner-trigger',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:flowrunner-trigger',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  getRemainingTimeInMillis: () => 300_000,
};

describe('the trigger function’s Lambda entry', () => {
  const saved = { ...process.env };
  const lines: Record<string, unknown>[] = [];
  let handler: (event: unknown, context: unknown) => Promise<unknown>;
  const secrets = mockClient(SecretsManagerClient);

  beforeAll(async () => {
    Object.assign(process.env, ENV);
    secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ cursor_key: 'c'.repeat(32), token_key: 't'.repeat(32) }) });
    // Powertools writes each line through a console of its own or the global one: both end here.
    const capture = (...args: unknown[]) => {
      for (const line of args.map(String).join(' ').split('\n').filter(Boolean)) {
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
    };
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation(capture);
    }
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        capture(String(chunk));
        return true;
      });
    }
    ({ handler } = (await import('../../../functions/trigger.js')) as unknown as { handler: typeof handler });
  });

  afterAll(() => {
    vi.restoreAllMocks();
    secrets.restore();
    process.env = saved;
  });

  it('refuses a malformed event with the paths of its problems, logging no part of its content', async () => {
    const event = {
      version: '0',
      id: 'e-1',
      'detail-type': 'CustomerSignedUp',
      source: 'com.acme.accounts',
      account: '123456789012',
      region: 'eu-west-1',
      resources: [],
      detail: 'ada@acme.example wants in',
    };
    await expect(handler(event, context)).rejects.toBeInstanceOf(ValidationError);
    const line = lines.find((l) => l.message === 'trigger event refused');
    expect(line).toMatchObject({
      level: 'ERROR',
      function_request_id: context.awsRequestId,
      issues: [
        { path: 'time', message: expect.any(String) },
        { path: 'detail', message: expect.any(String) },
      ],
    });
    expect(JSON.stringify(lines)).not.toContain('ada@acme.example');
  });

  it('answers an event that concerns no listener type (an S3 object deleted) without touching a store', async () => {
    const deleted = {
      version: '0',
      id: '2ee9cc15-d022-99ea-1fb8-1b1bac4850f9',
      'detail-type': 'Object Deleted',
      source: 'aws.s3',
      account: '123456789012',
      time: '2026-11-22T06:00:00Z',
      region: 'eu-west-1',
      resources: ['arn:aws:s3:::inbox'],
      detail: { version: '0', bucket: { name: 'inbox' }, object: { key: 'incoming/x.json' } },
    };
    expect(await handler(deleted, context)).toEqual({ deliveries: [] });
    expect(lines.find((l) => l.message === 'trigger')).toMatchObject({ level: 'INFO', deliveries: [] });
  });
});
