import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
} from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/validate-secrets.js';
import { InputInvalid, SecretInvalid } from '../../../lib/errors.js';
import {
  awsError,
  lambdaContext,
  lock,
  mocks,
  pushEvent,
  REGION,
  release,
  secrets,
  useConfigVariant,
} from './fixtures.js';

const context = lambdaContext('ValidateSecrets');
/** Planted in every secret value: it must never leave the handler, in its result or its error. */
const PLANTED = 'PLANTED-9c41e7';
const arnOf = (id: string) => `arn:aws:secretsmanager:${REGION}:123456789012:secret:${id}-AbCdEf`;

let values: Record<string, string>;

beforeEach(() => {
  values = {
    'antenna/prod/django-secret-key': `${PLANTED}-django-insecure-key-0123456789abcdef`,
    'antenna/prod/database-url': `postgres://antenna:${PLANTED}@db.internal:5432/antenna`,
    'antenna/prod/redis-url': `rediss://:${PLANTED}@cache.internal:6379/0?ssl_cert_reqs=required`,
    'antenna/prod/sendgrid-api-key': `SG.${PLANTED}`,
    'antenna/prod/sentry-dsn': `https://${PLANTED}@o1.ingest.sentry.io/1`,
  };
  mocks.secrets.reset();
  mocks.secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
    if (!(input.SecretId in values))
      throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return { ARN: arnOf(input.SecretId), Name: input.SecretId };
  });
  mocks.secrets.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommandInput) => {
    const id = Object.keys(values).find((name) => input.SecretId === arnOf(name));
    if (id === undefined) throw awsError('ResourceNotFoundException', 'no such secret');
    return { ARN: arnOf(id), Name: id, SecretString: values[id] };
  });
});

const state = () => ({ input: pushEvent(), release: release(), lock });

describe('validate-secrets handler', () => {
  it('returns the ARN of every configured secret by env var, for the bundle to reference', async () => {
    // Act
    const result = await handler(state(), context);

    // Assert
    expect(result.arns).toEqual(secrets.arns);
    expect([...result.checked].sort()).toEqual([...secrets.checked].sort());
    expect(result.warnings).toEqual([]);
    // REDIS_URL and CELERY_BROKER_URL share one secret: read once.
    expect(mocks.secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 5);
  });

  it('returns ARNs and names only: no secret value reaches the execution history', async () => {
    // Act
    const result = await handler(state(), context);

    // Assert
    expect(JSON.stringify(result)).not.toContain(PLANTED);
  });

  it('fails with SecretInvalid naming the secret id and the env var when a secret is missing', async () => {
    // Arrange
    delete values['antenna/prod/sentry-dsn'];

    // Act
    const run = handler(state(), context);

    // Assert
    await expect(run).rejects.toThrow(SecretInvalid);
    await expect(run).rejects.toThrow('secret "antenna/prod/sentry-dsn" (SENTRY_DSN) does not exist');
    await expect(run).rejects.toThrow('nothing was deployed');
  });

  it('names the problem of a malformed value without quoting the value', async () => {
    // Arrange: psycopg needs postgres(ql)://; a mysql URL would break every instance at start.
    values['antenna/prod/database-url'] = `mysql://antenna:${PLANTED}@db.internal:3306/antenna`;

    // Act
    const error = await handler(state(), context).catch((e: unknown) => e);

    // Assert
    expect(error).toBeInstanceOf(SecretInvalid);
    expect(String(error)).toContain('DATABASE_URL (secret "antenna/prod/database-url")');
    expect(String(error)).not.toContain(PLANTED);
  });

  describe('a JSON secret with keys', () => {
    let restore: () => void;
    beforeEach(() => {
      restore = useConfigVariant((targets) => {
        const secretsOf = targets['antenna-prod']?.secrets as Record<string, unknown>;
        secretsOf.SENDGRID_API_KEY = {
          secretId: 'antenna/prod/sendgrid-api-key',
          keys: { API_KEY: {}, WEBHOOK_SECRET: { optional: true } },
        };
      });
    });
    afterEach(() => restore());

    it('carries a warning (an empty optional key) to the next steps and the alert, and deploys', async () => {
      // Arrange
      values['antenna/prod/sendgrid-api-key'] = JSON.stringify({
        API_KEY: `SG.${PLANTED}`,
        WEBHOOK_SECRET: '',
      });

      // Act
      const result = await handler(state(), context);

      // Assert
      expect(result.warnings).toEqual([
        expect.stringMatching(/^secret-optional-key-empty: key "WEBHOOK_SECRET" of SENDGRID_API_KEY/),
      ]);
      expect(JSON.stringify(result)).not.toContain(PLANTED);
    });

    it('stops the deploy when a required key is empty, naming the key and the rule', async () => {
      // Arrange
      values['antenna/prod/sendgrid-api-key'] = JSON.stringify({ API_KEY: '', WEBHOOK_SECRET: PLANTED });

      // Act
      const error = await handler(state(), context).catch((e: unknown) => e);

      // Assert
      expect(error).toBeInstanceOf(SecretInvalid);
      expect(String(error)).toContain('secret-key-empty');
      expect(String(error)).toContain('key "API_KEY" of SENDGRID_API_KEY');
      expect(String(error)).not.toContain(PLANTED);
    });
  });

  it('rejects a release of the wrong shape with InputInvalid, before reading any secret', async () => {
    // Act
    const run = handler({ ...state(), release: { ...release(), trigger: 'cron' } }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('release.trigger');
    expect(mocks.secrets).not.toHaveReceivedAnyCommand();
  });
});
