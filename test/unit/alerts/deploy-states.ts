import type { DeployState, Release } from '../../../lib/workflow-state.js';

/** Realistic end states of the deploy state machine for "antenna-prod" (the Antenna seed). */

export const DIGEST = 'sha256:3f2a9c1b7d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef';
export const EXECUTION =
  'arn:aws:states:eu-west-1:123456789012:execution:ebship-deploy:antenna-prod-3f2a9c1b7d4e-push';
export const STARTED = '2025-06-02T09:00:00.000Z';
/** 4m 12s after STARTED. */
export const NOW = new Date('2025-06-02T09:04:12.000Z');

export const release: Release = {
  target: 'antenna-prod',
  application: 'antenna',
  environment: 'antenna-prod-web',
  platform: 'ecs',
  repository: 'antenna-backend',
  imageTag: 'v1.4.2',
  imageDigest: DIGEST,
  imageUri: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/antenna-backend@${DIGEST}`,
  imagePushedAt: '2025-06-02T08:58:40.000Z',
  versionLabel: 'v1.4.2-3f2a9c1b7d4e',
  trigger: 'push',
  existingVersion: false,
  hasMigrationCheck: true,
  executionId: EXECUTION,
  startedAt: STARTED,
};

const deploy = {
  fromVersion: 'v1.4.1-9a8b7c6d5e4f',
  toVersion: 'v1.4.2-3f2a9c1b7d4e',
  startedAt: '2025-06-02T09:00:41.000Z',
  firstPollSeconds: 15,
};

const upToDeploy: DeployState = {
  release,
  lock: { owner: EXECUTION, expiresAt: '2025-06-02T12:00:00.000Z' },
  secrets: {
    checked: ['DATABASE_URL', 'DJANGO_SECRET_KEY'],
    arns: { DATABASE_URL: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:antenna/db-AbCdEf' },
    warnings: [],
  },
  bundle: {
    bucket: 'ebship-bundles',
    key: 'antenna/v1.4.2-3f2a9c1b7d4e.zip',
    sha256: 'e3b0c442',
    bytes: 2048,
    files: ['Dockerrun.aws.json'],
    warnings: [],
  },
  version: { label: 'v1.4.2-3f2a9c1b7d4e', reused: false, status: 'processed', polls: 2, nextPollSeconds: 5 },
  deploy,
};

export const succeeded: DeployState = {
  ...upToDeploy,
  health: {
    verdict: 'healthy',
    polls: 9,
    nextPollSeconds: 15,
    convergedAt: '2025-06-02T09:02:30.000Z',
    healthySince: '2025-06-02T09:02:30.000Z',
    status: 'Ready',
    color: 'Green',
    healthStatus: 'Ok',
    causes: [],
    events: [],
  },
  migration: {
    status: 'passed',
    commandId: 'c0ffee00-1111-2222-3333-444455556666',
    instanceId: 'i-0a1b2c3d4e5f60718',
    polls: 2,
    nextPollSeconds: 5,
  },
  outcome: { status: 'SUCCEEDED' },
};

/** EB turned Red after the environment went back to Ready: the new version never reached the instances. */
export const rolledBack: DeployState = {
  ...upToDeploy,
  health: {
    verdict: 'rollback',
    polls: 14,
    nextPollSeconds: 15,
    status: 'Ready',
    color: 'Red',
    healthStatus: 'Severe',
    causes: [
      'Incorrect application version found on all instances. Expected version "v1.4.2-3f2a9c1b7d4e" (deployment 12).',
      'ELB health is failing or not available for all instances.',
    ],
    events: [
      '2025-06-02T09:02:58Z ERROR Failed to deploy application.',
      '2025-06-02T09:03:05Z WARN Environment health has transitioned from Ok to Severe. ELB health is failing or not available for all instances.',
    ],
  },
  rollback: {
    fromVersion: 'v1.4.2-3f2a9c1b7d4e',
    toVersion: 'v1.4.1-9a8b7c6d5e4f',
    startedAt: '2025-06-02T09:03:20.000Z',
    firstPollSeconds: 15,
  },
  rollbackHealth: {
    verdict: 'healthy',
    polls: 4,
    nextPollSeconds: 15,
    status: 'Ready',
    color: 'Green',
    healthStatus: 'Ok',
    causes: [],
    events: [],
  },
  outcome: { status: 'ROLLED_BACK' },
};

/** A secret had the psycopg 2 URL scheme (seed 000): stopped in ValidateSecrets, EB untouched. */
export const failedBeforeDeploy: DeployState = {
  release,
  lock: { owner: EXECUTION, expiresAt: '2025-06-02T12:00:00.000Z' },
  error: {
    Error: 'SecretInvalid',
    Cause: JSON.stringify({
      errorType: 'SecretInvalid',
      errorMessage:
        'secret antenna/db (DATABASE_URL) has scheme "postgres"; this target needs postgresql+psycopg. Update the secret value in Secrets Manager.',
      trace: ['SecretInvalid: secret antenna/db ...', '    at validateSecrets (/var/task/index.mjs:120:11)'],
    }),
  },
  outcome: { status: 'FAILED_BEFORE_DEPLOY' },
};

/** The migration check failed, the rollback was started, and the rollback itself went Red. */
export const rollbackFailed: DeployState = {
  ...upToDeploy,
  health: {
    verdict: 'healthy',
    polls: 10,
    nextPollSeconds: 15,
    status: 'Ready',
    color: 'Green',
    healthStatus: 'Ok',
    causes: [],
    events: [],
  },
  failure: {
    Error: 'MigrationsPending',
    Cause: JSON.stringify({
      errorType: 'MigrationsPending',
      errorMessage:
        'python manage.py migrate --check exited 1 on i-0a1b2c3d4e5f60718: unapplied migrations: accounts.0042_add_oidc_subject',
      trace: ['MigrationsPending: python manage.py migrate --check exited 1', '    at checkMigration'],
    }),
  },
  rollback: {
    fromVersion: 'v1.4.2-3f2a9c1b7d4e',
    toVersion: 'v1.4.1-9a8b7c6d5e4f',
    startedAt: '2025-06-02T09:03:30.000Z',
    firstPollSeconds: 15,
  },
  rollbackHealth: {
    verdict: 'rollback',
    polls: 12,
    nextPollSeconds: 15,
    status: 'Ready',
    color: 'Red',
    healthStatus: 'Degraded',
    causes: [
      'ELB health is failing or not available for all instances.',
      '100.0 % of the requests are failing with HTTP 5xx.',
    ],
    events: ['2025-06-02T09:03:59Z ERROR Environment health has been set to RED'],
  },
  outcome: { status: 'ROLLBACK_FAILED' },
};
