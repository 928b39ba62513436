/**
 * Shared arrangements for the handler tests: the environment serverless.yml gives the functions,
 * aws-sdk-client-mock mocks of every AWS client but DynamoDB, a real DynamoDB wire protocol
 * (dynalite, in process, on a port of this process's own), the states the deploy state machine
 * hands each Lambda for target antenna-prod of /work/main/ebship.yml, a fake Lambda context, and
 * temporary ebship.yml variants.
 *
 * The handlers read their environment when called and the SDK resolves endpoints and credentials
 * on the first request, so setting them when this module loads is early enough.
 * (test/workflow/harness.ts does the same, but loads aws-local-stepfunctions, which these tests
 * do not need and which would cost every file a few hundred milliseconds.)
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateApplicationVersionCommand,
  DescribeApplicationVersionsCommand,
  DescribeEventsCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach } from 'vitest';
import { parse, stringify } from 'yaml';
import type {
  BundleResult,
  DeployResult,
  DeployState,
  HealthProgress,
  LockResult,
  Release,
  SecretsResult,
  VersionResult,
} from '../../../lib/workflow-state.js';
import {
  mocks as awsMocks,
  BUCKET,
  dynamoClient,
  environmentPassesPreflight,
  REGION,
  startDynamo,
} from '../../support/aws-env.js';

export {
  BUCKET,
  environmentPassesPreflight,
  MIGRATION_DOCUMENT,
  mocks,
  REGION,
  TABLE,
  TOPIC,
} from '../../support/aws-env.js';

/** A document client on the dynalite the handlers use, for arranging and reading the table. */
export const db = DynamoDBDocumentClient.from(dynamoClient);

/** Gives each test of the calling file an empty ebship table (dynalite starts in milliseconds). */
export function useFreshTable(): void {
  let stop: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    stop = await startDynamo();
  });
  afterEach(async () => stop?.());
}

/** The digest in test/fixtures/events/ecr-push.json: the v10 image of antenna-backend. */
export const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
/** An older image, v9, the one antenna-prod ran before. */
export const OLD_DIGEST = 'sha256:0909090909090909090909090909090909090909090909090909090909090909';
export const LABEL = 'v10-7f5b2640fe6f';
export const OLD_LABEL = 'v9-090909090909';
export const ACCOUNT = '123456789012';
export const IMAGE_URI = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/antenna-backend@${DIGEST}`;
export const STATE_MACHINE = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:ebship-deploy`;
export const EXECUTION = `arn:aws:states:${REGION}:${ACCOUNT}:execution:ebship-deploy:antenna-prod-7f5b2640fe6f-push`;
export const OTHER_EXECUTION = `arn:aws:states:${REGION}:${ACCOUNT}:execution:ebship-deploy:manual-0b1c2d3e`;
export const STARTED = '2026-11-23T10:00:00.000Z';
export const PUSHED = '2026-11-23T09:58:40.000Z';
/** The table key of antenna-prod, as the store functions take it. */
export const ENV = { application: 'antenna', environment: 'antenna-prod' };

/** The release ResolveRelease makes of the v10 push to antenna-backend; a fresh copy each call. */
export function release(overrides: Partial<Release> = {}): Release {
  return {
    target: 'antenna-prod',
    application: 'antenna',
    environment: 'antenna-prod',
    platform: 'ecs',
    repository: 'antenna-backend',
    imageTag: 'v10',
    imageDigest: DIGEST,
    imageUri: IMAGE_URI,
    imagePushedAt: PUSHED,
    versionLabel: LABEL,
    trigger: 'push',
    existingVersion: false,
    hasMigrationCheck: true,
    executionId: EXECUTION,
    startedAt: STARTED,
    ...overrides,
  };
}

/** The EventBridge event of an ECR push (test/fixtures/events/ecr-push.json). */
export type EcrPushEvent = Record<string, unknown> & { detail: Record<string, unknown> };

/** What the Start and ResolveRelease states pass on: the raw input, kept for diagnosis. */
export function pushEvent(tag = 'v10', digest = DIGEST): EcrPushEvent {
  const event = JSON.parse(readFileSync('test/fixtures/events/ecr-push.json', 'utf8')) as EcrPushEvent;
  return { ...event, detail: { ...event.detail, 'image-tag': tag, 'image-digest': digest } };
}

export const lock: LockResult = { owner: EXECUTION, expiresAt: '2026-11-23T13:00:00.000Z' };

const secretArn = (id: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
export const secrets: SecretsResult = {
  checked: [
    'DJANGO_SECRET_KEY',
    'DATABASE_URL',
    'REDIS_URL',
    'CELERY_BROKER_URL',
    'SENDGRID_API_KEY',
    'SENTRY_DSN',
  ],
  arns: {
    DJANGO_SECRET_KEY: secretArn('antenna/prod/django-secret-key'),
    DATABASE_URL: secretArn('antenna/prod/database-url'),
    REDIS_URL: secretArn('antenna/prod/redis-url'),
    CELERY_BROKER_URL: secretArn('antenna/prod/redis-url'),
    SENDGRID_API_KEY: secretArn('antenna/prod/sendgrid-api-key'),
    SENTRY_DSN: secretArn('antenna/prod/sentry-dsn'),
  },
  warnings: [],
};

export const bundle: BundleResult = {
  bucket: BUCKET,
  key: `bundles/antenna/${LABEL}.zip`,
  sha256: 'a3f1c2d4e5b60718293a4b5c6d7e8f90112233445566778899aabbccddeeff00',
  bytes: 2311,
  files: ['.ebextensions/00-ebship.config', 'Dockerrun.aws.json'],
  warnings: [],
};

export const version: VersionResult = {
  label: LABEL,
  reused: false,
  status: 'processed',
  polls: 2,
  nextPollSeconds: 5,
};

/** UpdateEnvironment was called at 10:00:41. */
export const deploy: DeployResult = {
  fromVersion: OLD_LABEL,
  toVersion: LABEL,
  startedAt: '2026-11-23T10:00:41.000Z',
  firstPollSeconds: 15,
};

/** What StartHealthWatch puts in $.health before the first CheckHealth. */
export const watchStart: HealthProgress = {
  verdict: 'wait',
  polls: 0,
  nextPollSeconds: 15,
  causes: [],
  events: [],
};

/** The state as it reaches DeployVersion on the happy path. */
export function stateBeforeDeploy(overrides: Partial<DeployState> = {}): DeployState {
  return { input: pushEvent(), release: release(), lock, secrets, bundle, version, ...overrides };
}

/** A Lambda context like the one Lambda passes; the handlers only hand it to the logger. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: `ebship-dev-${functionName}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ebship-dev-${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
    logGroupName: `/aws/lambda/ebship-dev-${functionName}`,
    logStreamName: '2026/11/23/[$LATEST]abcdef0123456789',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** An AWS service error as the SDK raises it: the error code is the `name`. */
/** An error as the SDK raises it for an AWS answer: the code as `name`, and the HTTP status. */
export function awsError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode } });
}

/**
 * Writes a variant of /work/main/ebship.yml to a temporary directory and points EBSHIP_CONFIG at
 * it. lib/runtime.ts caches the config per path, so the handlers read the variant from the next
 * call on; the returned function restores ebship.yml and removes the directory.
 */
export function useConfigVariant(
  edit: (targets: Record<string, Record<string, unknown>>) => void,
): () => void {
  const doc = parse(readFileSync('ebship.yml', 'utf8')) as {
    targets: Record<string, Record<string, unknown>>;
  };
  edit(doc.targets);
  const dir = mkdtempSync(join(tmpdir(), 'ebship-functions-'));
  const path = join(dir, 'ebship.yml');
  writeFileSync(path, stringify(doc));
  const previous = process.env.EBSHIP_CONFIG;
  process.env.EBSHIP_CONFIG = path;
  return () => {
    if (previous === undefined) delete process.env.EBSHIP_CONFIG;
    else process.env.EBSHIP_CONFIG = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}

/**
 * EB as CreateAppVersion first meets it: the environment passes preflight, the region holds no
 * version, and CreateApplicationVersion answers Processing. Resets the EB mock first.
 */
export function ebReadyForVersion(): void {
  awsMocks.eb.reset();
  environmentPassesPreflight();
  awsMocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });
  awsMocks.eb.on(CreateApplicationVersionCommand).resolves({
    ApplicationVersion: { ApplicationName: 'antenna', VersionLabel: LABEL, Status: 'Processing' },
  });
  awsMocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
}
