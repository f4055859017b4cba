/**
 * The Secrets Manager SecretSource, with aws-sdk-client-mock: the exact GetSecretValue request,
 * the short cache, and each failure as a typed error whose message never holds a value.
 */
import {
  DecryptionFailure,
  GetSecretValueCommand,
  InternalServiceError,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../shared/adapters/clock.js';
import { ConfigurationError } from '../../../shared/errors.js';
import { createSecretsManagerSource } from '../../../shared/secrets/secrets-manager.js';
import { failure } from '../../support/failure.js';
import { awsException, awsServiceException, mockAwsClient } from '../../support/sdk-errors.js';

const VALUE = 'xoxb-very-secret-token';

function setup(options: { prefix?: string; ttlMs?: number } = {}) {
  const { client, mock: sm } = mockAwsClient(SecretsManagerClient);
  const clock = new ManualClock();
  const secrets = createSecretsManagerSource({ client, clock, ...options });
  return { sm, clock, secrets };
}

describe('createSecretsManagerSource', () => {
  it('reads the SecretString of flowrunner/NAME', async () => {
    const { sm, secrets } = setup();
    sm.on(GetSecretValueCommand).resolves({ SecretString: VALUE });

    expect(await secrets.get('slack_token')).toBe(VALUE);
    expect(sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input)).toEqual([
      { SecretId: 'flowrunner/slack_token' },
    ]);
  });

  it('hands a JSON secret over as its raw text (the expressions parse secrets.NAME.field)', async () => {
    const { sm, secrets } = setup();
    const json = JSON.stringify({ user: 'app', password: 'pa55' });
    sm.on(GetSecretValueCommand).resolves({ SecretString: json });

    expect(await secrets.get('db')).toBe(json);
  });

  it('puts a configured prefix in front of the name', async () => {
    const { sm, secrets } = setup({ prefix: 'prod/flowrunner/' });
    sm.on(GetSecretValueCommand).resolves({ SecretString: VALUE });

    await secrets.get('mail');

    expect(sm.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({
      SecretId: 'prod/flowrunner/mail',
    });
  });

  describe('cache', () => {
    it('sends no request for a second get within the TTL, and one after it', async () => {
      const { sm, clock, secrets } = setup();
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'v1' }).resolves({ SecretString: 'v2' });

      const first = await secrets.get('token');
      clock.advance(59_999);
      const withinTtl = await secrets.get('token');
      clock.advance(1);
      const afterTtl = await secrets.get('token');

      expect([first, withinTtl, afterTtl]).toEqual(['v1', 'v1', 'v2']);
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    });

    it('honours a shorter TTL', async () => {
      const { sm, clock, secrets } = setup({ ttlMs: 1000 });
      sm.on(GetSecretValueCommand).resolves({ SecretString: VALUE });

      await secrets.get('token');
      clock.advance(1000);
      await secrets.get('token');

      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    });

    it('caches each name on its own', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand, { SecretId: 'flowrunner/a' })
        .resolves({ SecretString: 'A' })
        .on(GetSecretValueCommand, { SecretId: 'flowrunner/b' })
        .resolves({ SecretString: 'B' });

      expect([await secrets.get('a'), await secrets.get('b'), await secrets.get('a')]).toEqual([
        'A',
        'B',
        'A',
      ]);
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    });

    it('shares one request among gets that arrive while it is under way', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand).resolves({ SecretString: VALUE });

      const values = await Promise.all([secrets.get('token'), secrets.get('token'), secrets.get('token')]);

      expect(values).toEqual([VALUE, VALUE, VALUE]);
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    });

    it('does not cache a miss: a secret created afterwards is found', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand)
        .rejectsOnce(awsException(ResourceNotFoundException, 'not found', 400))
        .resolves({ SecretString: VALUE });

      await failure(secrets.get('token'));
      expect(await secrets.get('token')).toBe(VALUE);
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    });
  });

  describe('errors', () => {
    it('reports a missing secret as SecretNotFound, naming where it looked', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand).rejects(
        awsException(ResourceNotFoundException, "Secrets Manager can't find the specified secret.", 400),
      );

      const error = await failure(secrets.get('mail_token'));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({
        code: 'SecretNotFound',
        retryable: false,
        message: "secret 'mail_token' was not found (looked for flowrunner/mail_token)",
        details: { secret: 'mail_token', secret_id: 'flowrunner/mail_token' },
      });
    });

    it('reports AccessDeniedException as SecretAccessDenied, saying what to grant', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand).rejects(
        awsServiceException(
          SecretsManagerServiceException,
          'AccessDeniedException',
          400,
          'User is not authorized',
        ),
      );

      const error = await failure(secrets.get('token'));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({ code: 'SecretAccessDenied', retryable: false });
      expect(error.message).toBe(
        "access to secret 'token' (flowrunner/token) was denied: grant secretsmanager:GetSecretValue on it",
      );
    });

    it('reports throttling (after the SDK gave up retrying) as a retryable SecretsThrottled', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand).rejects(
        awsServiceException(SecretsManagerServiceException, 'ThrottlingException', 400, 'Rate exceeded'),
      );

      const error = await failure(secrets.get('token'));

      expect(error).toMatchObject({ code: 'SecretsThrottled', retryable: true });
      expect(error.message).toBe("Secrets Manager throttled the read of secret 'token'");
    });

    it('reports a decryption failure as SecretUnavailable, not retryable', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand).rejects(awsException(DecryptionFailure, 'KMS key disabled', 400));

      const error = await failure(secrets.get('token'));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error).toMatchObject({
        code: 'SecretUnavailable',
        retryable: false,
        message: "secret 'token' (flowrunner/token) could not be read: DecryptionFailure",
      });
    });

    it('reports an internal service error as SecretUnavailable that may be retried', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand).rejects(awsException(InternalServiceError, 'oops', 500));

      expect(await failure(secrets.get('token'))).toMatchObject({
        code: 'SecretUnavailable',
        retryable: true,
      });
    });

    it('refuses a binary secret without showing its bytes', async () => {
      const { sm, secrets } = setup();
      sm.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array(Buffer.from(VALUE)) });

      const error = await failure(secrets.get('cert'));

      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.code).toBe('SecretUnsupported');
      expect(error.message).toBe(
        "secret 'cert' (flowrunner/cert) holds binary data; only text secrets (SecretString) are supported",
      );
      expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain(VALUE);
    });

    it('refuses a name that could not be a secret, without asking AWS', async () => {
      const { sm, secrets } = setup();

      for (const name of ['', '../other', 'a/b', 'with space']) {
        expect(await failure(secrets.get(name))).toMatchObject({ code: 'SecretNotFound' });
      }
      expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    });
  });
});
