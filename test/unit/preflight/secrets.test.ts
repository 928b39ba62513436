import {
  DecryptionFailure,
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ResourceNotFoundException,
  SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../../../lib/config/load.js';
import type { Target } from '../../../lib/config/schema.js';
import { inspectSecrets } from '../../../lib/preflight/secrets.js';

const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({});
const seeds = loadConfig(new URL('../../fixtures/seeds/ebship.yml', import.meta.url).pathname);
const treasury = seeds.targets['treasury-plane-dev'] as Target;
const antenna = seeds.targets['antenna-prod'] as Target;

const CANARY = 'canary-9d2f4b7e-never-print-me';
const arnOf = (id: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${id}-AbCdEf`;

/** A target with one secret, for the error cases. */
function oneSecret(extra = ''): Target {
  const config = parseConfig(`
version: 1
targets:
  app:
    application: app
    environment: app-prod
    platform: docker
    source: { repository: app }
    containers: [{ name: web, image: "{{image}}" }]
    secrets:
      API_KEY: { secretId: app/api-key ${extra} }
`);
  return config.targets.app as Target;
}

function awsError(name: string, message: string): SecretsManagerServiceException {
  return new SecretsManagerServiceException({ name, message, $fault: 'client', $metadata: {} });
}

/** Every secret exists; `values` maps secretId to SecretString. */
function planted(values: Record<string, string>) {
  sm.on(DescribeSecretCommand).callsFake((input: { SecretId: string }) => ({
    ARN: arnOf(input.SecretId),
    Name: input.SecretId,
  }));
  sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
    const id = Object.keys(values).find((k) => input.SecretId === arnOf(k));
    if (id === undefined) throw new ResourceNotFoundException({ message: 'not found', $metadata: {} });
    return { ARN: input.SecretId, SecretString: values[id] };
  });
}

beforeEach(() => {
  sm.reset();
});

describe('inspectSecrets', () => {
  it('passes good secrets and returns each env var with its ARN', async () => {
    // Arrange
    planted({
      'antenna/prod/django-secret-key': CANARY,
      'antenna/prod/database-url': `postgres://antenna:${CANARY}@db.internal:5432/antenna`,
      'antenna/prod/redis-url': `rediss://:${CANARY}@cache.internal:6379/0?ssl_cert_reqs=none`,
      'antenna/prod/sendgrid-api-key': CANARY,
      'antenna/prod/sentry-dsn': `https://${CANARY}@o0.ingest.sentry.io/0`,
    });

    // Act
    const result = await inspectSecrets(client, antenna);

    // Assert
    expect(result.findings).toEqual([]);
    expect(result.checked.sort()).toEqual(
      [
        'CELERY_BROKER_URL',
        'DATABASE_URL',
        'DJANGO_SECRET_KEY',
        'REDIS_URL',
        'SENDGRID_API_KEY',
        'SENTRY_DSN',
      ].sort(),
    );
    expect(result.arns.CELERY_BROKER_URL).toBe(arnOf('antenna/prod/redis-url'));
    expect(result.arns.REDIS_URL).toBe(arnOf('antenna/prod/redis-url'));
    // REDIS_URL and CELERY_BROKER_URL share one secret: it is read once.
    expect(sm).toReceiveCommandTimes(GetSecretValueCommand, 5);
    expect(sm).toReceiveCommandWith(GetSecretValueCommand, { SecretId: arnOf('antenna/prod/redis-url') });
  });

  it("finds seed 000's secret problems: postgres:// for psycopg 3 and an empty OIDC secret", async () => {
    // Arrange
    planted({
      'treasury-plane/database-url': `postgres://plane:${CANARY}@db.internal:5432/plane`,
      'treasury-plane/django-secret-key': CANARY,
      'treasury-plane/app-config': JSON.stringify({
        REDIS_URL: `redis://:${CANARY}@cache.internal:6379/0`,
        OIDC_CLIENT_SECRET: '',
      }),
    });

    // Act
    const { findings } = await inspectSecrets(client, treasury);

    // Assert
    expect(findings.map((f) => [f.ruleId, f.severity])).toEqual([
      ['database-url-scheme', 'error'],
      ['secret-optional-key-empty', 'warning'],
    ]);
    expect(findings[0]?.message).toContain('DATABASE_URL');
    expect(findings[1]?.message).toContain('OIDC_CLIENT_SECRET');
  });

  it("finds seed 004's redis:// broker URL when ElastiCache encrypts in transit", async () => {
    // Arrange
    planted({
      'antenna/prod/django-secret-key': CANARY,
      'antenna/prod/database-url': `postgres://antenna:${CANARY}@db.internal:5432/antenna`,
      'antenna/prod/redis-url': `redis://:${CANARY}@cache.internal:6379/0`,
      'antenna/prod/sendgrid-api-key': CANARY,
      'antenna/prod/sentry-dsn': `https://${CANARY}@o0.ingest.sentry.io/0`,
    });

    // Act
    const { findings } = await inspectSecrets(client, antenna);

    // Assert: one finding per env var using the secret.
    expect(findings.map((f) => f.ruleId)).toEqual(['redis-url-tls', 'redis-url-tls']);
    expect(findings.map((f) => f.message).join('\n')).toMatch(/REDIS_URL[\s\S]*CELERY_BROKER_URL/);
  });

  it('never lets a secret value out: not in findings, messages, ARNs or names', async () => {
    // Arrange: every secret holds the canary, in shapes that fail every check.
    planted({
      'antenna/prod/django-secret-key': `   `,
      'antenna/prod/database-url': `${CANARY}://${CANARY}:${CANARY}@${CANARY}/x`,
      'antenna/prod/redis-url': `${CANARY}`,
      'antenna/prod/sendgrid-api-key': CANARY,
      'antenna/prod/sentry-dsn': `${CANARY}@not-a-url`,
    });

    // Act
    const result = await inspectSecrets(client, antenna);

    // Assert
    expect(result.findings.length).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(result)).not.toContain(CANARY);
    expect(JSON.stringify(result)).not.toContain('canary');
  });

  it('says which permission is missing when DescribeSecret is denied', async () => {
    // Arrange
    sm.on(DescribeSecretCommand).rejects(
      awsError('AccessDeniedException', 'not authorized to perform: secretsmanager:DescribeSecret'),
    );

    // Act
    const { findings, arns } = await inspectSecrets(client, oneSecret());

    // Assert
    expect(findings).toEqual([
      expect.objectContaining({ ruleId: 'secret-access-denied', severity: 'error' }),
    ]);
    expect(findings[0]?.message).toContain('secretsmanager:DescribeSecret');
    expect(findings[0]?.message).toContain('app/api-key');
    expect(arns).toEqual({});
    expect(sm).not.toReceiveCommand(GetSecretValueCommand);
  });

  it('says which permission is missing when GetSecretValue is denied', async () => {
    // Arrange
    sm.on(DescribeSecretCommand).resolves({ ARN: arnOf('app/api-key') });
    sm.on(GetSecretValueCommand).rejects(
      awsError('AccessDeniedException', 'not authorized to perform: secretsmanager:GetSecretValue'),
    );

    // Act
    const { findings } = await inspectSecrets(client, oneSecret());

    // Assert
    expect(findings[0]?.message).toContain('secretsmanager:GetSecretValue');
    // Not a KMS problem: the fix would send the user to the wrong policy.
    expect(findings[0]?.message).not.toContain('kms:Decrypt');
  });

  it('treats the older AccessDenied code like AccessDeniedException', async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN: arnOf('app/api-key') });
    sm.on(GetSecretValueCommand).rejects(awsError('AccessDenied', 'Access Denied'));
    const { findings } = await inspectSecrets(client, oneSecret());
    expect(findings).toEqual([expect.objectContaining({ ruleId: 'secret-access-denied' })]);
  });

  it.each([
    ['neither a string nor a binary value', {}],
    ['an empty binary value', { SecretBinary: new Uint8Array([]) }],
  ])('reports a secret with %s as empty, not binary', async (_, answer) => {
    sm.on(DescribeSecretCommand).resolves({ ARN: arnOf('app/api-key') });
    sm.on(GetSecretValueCommand).resolves(answer);
    const { findings } = await inspectSecrets(client, oneSecret());
    expect(findings.map((f) => f.ruleId)).toEqual(['secret-empty']);
  });

  it.each([
    [
      'AccessDeniedException mentioning KMS',
      awsError('AccessDeniedException', 'Access to KMS is not allowed'),
    ],
    ['DecryptionFailure', new DecryptionFailure({ message: 'cannot decrypt', $metadata: {} })],
  ])('says kms:Decrypt is missing on %s', async (_, error) => {
    // Arrange
    sm.on(DescribeSecretCommand).resolves({ ARN: arnOf('app/api-key') });
    sm.on(GetSecretValueCommand).rejects(error);

    // Act
    const { findings } = await inspectSecrets(client, oneSecret());

    // Assert
    expect(findings).toEqual([expect.objectContaining({ ruleId: 'secret-access-denied' })]);
    expect(findings[0]?.message).toContain('kms:Decrypt');
  });

  it('reports a missing secret', async () => {
    sm.on(DescribeSecretCommand).rejects(
      new ResourceNotFoundException({ message: 'no such secret', $metadata: {} }),
    );
    const { findings } = await inspectSecrets(client, oneSecret());
    expect(findings.map((f) => f.ruleId)).toEqual(['secret-not-found']);
  });

  it('reports a secret scheduled for deletion without reading it', async () => {
    sm.on(DescribeSecretCommand).resolves({
      ARN: arnOf('app/api-key'),
      DeletedDate: new Date('2030-01-07T00:00:00Z'),
    });
    const { findings, arns } = await inspectSecrets(client, oneSecret());
    expect(findings.map((f) => f.ruleId)).toEqual(['secret-scheduled-for-deletion']);
    expect(findings[0]?.message).toContain('2030-01-07');
    expect(arns.API_KEY).toBe(arnOf('app/api-key'));
    expect(sm).not.toReceiveCommand(GetSecretValueCommand);
  });

  it('reports a secret GetSecretValue refuses as marked for deletion', async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN: arnOf('app/api-key') });
    sm.on(GetSecretValueCommand).rejects(
      new InvalidRequestException({ message: 'marked for deletion', $metadata: {} }),
    );
    const { findings } = await inspectSecrets(client, oneSecret());
    expect(findings.map((f) => f.ruleId)).toEqual(['secret-scheduled-for-deletion']);
  });

  it.each([
    ['an empty string', { SecretString: '' }],
    ['no current version', undefined],
  ])('reports a secret with %s as empty', async (_, output) => {
    sm.on(DescribeSecretCommand).resolves({ ARN: arnOf('app/api-key') });
    if (output) sm.on(GetSecretValueCommand).resolves(output);
    else
      sm.on(GetSecretValueCommand).rejects(
        new ResourceNotFoundException({ message: "can't find AWSCURRENT", $metadata: {} }),
      );
    const { findings } = await inspectSecrets(client, oneSecret());
    expect(findings.map((f) => f.ruleId)).toEqual(['secret-empty']);
  });

  it('reports a binary secret, which EB cannot inject as text', async () => {
    sm.on(DescribeSecretCommand).resolves({ ARN: arnOf('app/api-key') });
    sm.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });
    const { findings } = await inspectSecrets(client, oneSecret());
    expect(findings.map((f) => f.ruleId)).toEqual(['secret-binary']);
  });

  it('checks a url-format secret', async () => {
    planted({ 'app/api-key': 'not a url' });
    const { findings } = await inspectSecrets(client, oneSecret(', format: url'));
    expect(findings.map((f) => f.ruleId)).toEqual(['url-invalid']);
  });

  it('lets throttling through for the state machine to retry', async () => {
    sm.on(DescribeSecretCommand).rejects(
      new SecretsManagerServiceException({
        name: 'ThrottlingException',
        message: 'Rate exceeded',
        $fault: 'client',
        $metadata: {},
      }),
    );
    await expect(inspectSecrets(client, oneSecret())).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  // The SDK marks a 5xx as $fault "server" and transient errors $retryable (Smithy error traits); such
  // an error says nothing about the secret, so it goes to the state machine's Retry, not into a finding.
  it.each([
    ['DescribeSecret', 'a 5xx', { $fault: 'server' as const }],
    ['GetSecretValue', 'a 5xx', { $fault: 'server' as const }],
    ['GetSecretValue', 'a retryable error', { $fault: 'client' as const, $retryable: {} }],
  ])('lets %s failing with %s through instead of blaming the secret', async (operation, _what, traits) => {
    planted({ 'app/api-key': 'value' });
    const error = Object.assign(
      new SecretsManagerServiceException({
        name: 'ServiceUnavailable',
        message: 'Service Unavailable',
        $fault: traits.$fault,
        $metadata: { httpStatusCode: 503 },
      }),
      traits,
    );
    sm.on(operation === 'DescribeSecret' ? DescribeSecretCommand : GetSecretValueCommand).rejects(error);
    await expect(inspectSecrets(client, oneSecret())).rejects.toBe(error);
  });

  it('turns an unrecognised client error into secret-unreadable, naming the call', async () => {
    planted({ 'app/api-key': 'value' });
    // Mentioning KMS does not make it a permission problem: only AccessDeniedException does.
    sm.on(GetSecretValueCommand).rejects(awsError('ValidationException', 'bad KMS key id'));
    const { findings } = await inspectSecrets(client, oneSecret());
    expect(findings).toEqual([
      expect.objectContaining({
        ruleId: 'secret-unreadable',
        severity: 'error',
        message:
          'secret "app/api-key" (API_KEY) could not be read: GetSecretValue failed with ValidationException',
      }),
    ]);
  });
});
