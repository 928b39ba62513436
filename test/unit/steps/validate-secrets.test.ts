import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
} from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretInvalid } from '../../../lib/errors.js';
import { validateSecrets } from '../../../lib/steps/validate-secrets.js';
import { awsError, mocks, REGION, release } from '../functions/fixtures.js';

const arnOf = (id: string) => `arn:aws:secretsmanager:${REGION}:123456789012:secret:${id}-AbCdEf`;

/** The secrets of antenna-prod (ebship.yml), all usable. */
let values: Record<string, string>;

beforeEach(() => {
  values = {
    'antenna/prod/django-secret-key': 'django-insecure-key-0123456789abcdef',
    'antenna/prod/database-url': 'postgres://antenna:pw@db.internal:5432/antenna',
    'antenna/prod/redis-url': 'rediss://:pw@cache.internal:6379/0?ssl_cert_reqs=required',
    'antenna/prod/sendgrid-api-key': 'SG.key',
    'antenna/prod/sentry-dsn': 'https://key@o1.ingest.sentry.io/1',
  };
  mocks.secrets.reset();
  mocks.secrets.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => {
    if (!(input.SecretId in values)) throw awsError('ResourceNotFoundException', 'not found');
    return { ARN: arnOf(input.SecretId), Name: input.SecretId };
  });
  mocks.secrets.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommandInput) => {
    const id = Object.keys(values).find((name) => input.SecretId === arnOf(name));
    if (id === undefined) throw awsError('ResourceNotFoundException', 'not found');
    return { ARN: arnOf(id), Name: id, SecretString: values[id] };
  });
});

describe('validateSecrets', () => {
  it('stops the deploy for a database URL without a host (issue 15): the app would look for a local socket', async () => {
    // Arrange: postgres:///antenna parses as a URL, with an empty host and no ?host= socket path.
    values['antenna/prod/database-url'] = 'postgres:///antenna';

    // Act
    const run = validateSecrets(release());

    // Assert
    await expect(run).rejects.toThrow(SecretInvalid);
    await expect(run).rejects.toThrow(/DATABASE_URL.*is not a database URL/);
  });

  it('accepts a unix-socket database URL, whose host is its ?host= path', async () => {
    // Arrange
    values['antenna/prod/database-url'] = 'postgresql:///antenna?host=/run/postgresql';

    // Act
    const result = await validateSecrets(release());

    // Assert
    expect(result.warnings).toEqual([]);
    expect(result.checked).toContain('DATABASE_URL');
  });
});
