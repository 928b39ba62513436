/**
 * lib/store/deployments.ts at the edges `ebship history` and a re-push depend on: rows written by
 * older versions, empty fields, a history limit of 0, whose push marker is forgotten, and a lock
 * that keeps changing hands.
 */
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentBusy } from '../../../lib/errors.js';
import {
  acquireLock,
  type EnvKey,
  forgetPush,
  listHistory,
  recordDeployment,
  recordPush,
  releaseLock,
  takeOverLock,
} from '../../../lib/store/deployments.js';
import {
  claimAlert,
  claimNextTurn,
  releaseAlertClaim,
  releaseNextTurn,
} from '../../../lib/store/ownership.js';
import { type LocalTable, startLocalTable } from './dynalite-table.js';

const EXEC_A = 'arn:aws:states:us-east-1:123456789012:execution:ebship-deploy:antenna-prod-3f2a9c1b7d4e-push';
const EXEC_B = 'arn:aws:states:us-east-1:123456789012:execution:ebship-deploy:manual-0b1c2d3e';
const DIGEST = `sha256:${'3f2a9c1b7d4e'.padEnd(64, '0')}`;

let local: LocalTable;
let counter = 0;
function freshEnv(): EnvKey {
  counter += 1;
  return { application: 'antenna', environment: `antenna-prod-${counter}` };
}

beforeAll(async () => {
  local = await startLocalTable();
});

afterAll(async () => {
  await local.close();
});

const entry = (env: EnvKey, extra: Record<string, unknown> = {}) => ({
  ...env,
  target: 'antenna-prod',
  executionId: EXEC_A,
  trigger: 'push' as const,
  toVersion: 'v1',
  outcome: 'SUCCEEDED' as const,
  startedAt: '2025-06-02T09:00:00.000Z',
  ...extra,
});

describe('deployment history', () => {
  it('answers an empty list for a limit of 0 (DynamoDB refuses a query Limit below 1), one entry for 1', async () => {
    // Arrange
    const env = freshEnv();
    await recordDeployment(local.db, local.table, entry(env));

    // Act / Assert
    expect(await listHistory(local.db, local.table, env, 0)).toEqual([]);
    expect(await listHistory(local.db, local.table, env, 1)).toHaveLength(1);
  });

  it('keeps the trigger of manual deploys and rollbacks, and reads anything else as a push', async () => {
    // Arrange
    const env = freshEnv();
    await recordDeployment(local.db, local.table, entry(env, { trigger: 'rollback', executionId: 'arn:r' }));
    await recordDeployment(
      local.db,
      local.table,
      entry(env, { trigger: 'manual', executionId: 'arn:m', startedAt: '2025-06-02T10:00:00.000Z' }),
    );
    await local.db.send(
      new PutCommand({
        TableName: local.table,
        Item: {
          pk: `ENV#antenna/${env.environment}`,
          sk: 'DEPLOY#2025-06-02T11:00:00.000Z#arn:old',
          trigger: 'schedule',
          toVersion: 'v0',
          outcome: 'SUCCEEDED',
          startedAt: '2025-06-02T11:00:00.000Z',
        },
      }),
    );

    // Act
    const history = await listHistory(local.db, local.table, env);

    // Assert
    expect(history.map((h) => [h.executionId, h.trigger])).toEqual([
      ['arn:old', 'push'],
      ['arn:m', 'manual'],
      ['arn:r', 'rollback'],
    ]);
  });

  it('stores no image for a deployment without one (a rollback to a version whose image is gone)', async () => {
    // Arrange
    const env = freshEnv();

    // Act
    await recordDeployment(local.db, local.table, entry(env, { imageUri: '' }));

    // Assert
    const [read] = await listHistory(local.db, local.table, env);
    expect(read).not.toHaveProperty('imageUri');
  });

  it('masks a secret in a reason written before masking existed, on the way out', async () => {
    // Arrange: a row as an older ebship wrote it, quoting a check's output verbatim.
    const env = freshEnv();
    await local.db.send(
      new PutCommand({
        TableName: local.table,
        Item: {
          pk: `ENV#antenna/${env.environment}`,
          sk: `DEPLOY#2025-06-02T09:00:00.000Z#${EXEC_A}`,
          trigger: 'push',
          toVersion: 'v1',
          outcome: 'ROLLED_BACK',
          reason: 'MigrationsPending: psql: postgresql://app:Hunter2Secret@db:5432/app refused',
          startedAt: '2025-06-02T09:00:00.000Z',
        },
      }),
    );

    // Act
    const [read] = await listHistory(local.db, local.table, env);

    // Assert
    expect(read?.reason).toContain('MigrationsPending');
    expect(read?.reason).not.toContain('Hunter2Secret');
  });
});

describe('forgetPush', () => {
  const push = (executionId: string) => ({
    repository: 'antenna-backend',
    imageDigest: DIGEST,
    target: 'antenna-prod',
    executionId,
  });
  const seen = (executionId: string) =>
    recordPush(local.db, local.table, { ...push(executionId), now: new Date(), ttlSeconds: 3600 });

  it("removes only its own execution's marker: another execution's push stays a duplicate", async () => {
    // Arrange: EXEC_A handles the push.
    await seen(EXEC_A);

    // Act: another execution that failed before deploying forgets "its" push.
    await forgetPush(local.db, local.table, push(EXEC_B));

    // Assert
    expect(await seen('arn:third')).toBe('duplicate');
    await forgetPush(local.db, local.table, push(EXEC_A));
    expect(await seen('arn:third')).toBe('new');
  });
});

describe('acquireLock when the lock keeps changing hands', () => {
  it('tries three times, then says so with EnvironmentBusy (retried by the state machine)', async () => {
    // Arrange: every conditional put fails, and every read finds the lock free again.
    const env = freshEnv();
    let puts = 0;
    const churning = {
      send: async (command: unknown) => {
        if (command instanceof PutCommand) {
          puts += 1;
          throw Object.assign(new Error('The conditional request failed'), {
            name: 'ConditionalCheckFailedException',
          });
        }
        if (command instanceof GetCommand) return {};
        return local.db.send(command as never);
      },
    } as unknown as typeof local.db;

    // Act
    const run = acquireLock(churning, local.table, env, {
      owner: EXEC_A,
      versionLabel: 'v1',
      imageDigest: DIGEST,
      leaseSeconds: 3600,
      now: new Date(),
    });

    // Assert
    await expect(run).rejects.toThrow(EnvironmentBusy);
    await expect(run).rejects.toThrow(
      `antenna/${env.environment} changed hands while ebship tried to lock it`,
    );
    expect(puts).toBe(3);
  });
});

describe('a DynamoDB error that is not a failed condition', () => {
  // DynamoDB API reference, "Error handling": ProvisionedThroughputExceededException and
  // ThrottlingException are retryable; only ConditionalCheckFailedException answers a condition.
  const throttled = {
    send: async () => {
      throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
        name: 'ProvisionedThroughputExceededException',
      });
    },
  } as unknown as typeof local.db;
  const env = { application: 'antenna', environment: 'antenna-prod' };
  const push = {
    repository: 'antenna-backend',
    imageDigest: DIGEST,
    target: 'antenna-prod',
    executionId: EXEC_A,
  };

  it.each<[string, () => Promise<unknown>]>([
    // A throttled dedupe write must not drop the push as a duplicate.
    ['recordPush', () => recordPush(throttled, local.table, { ...push, now: new Date(), ttlSeconds: 60 })],
    ['forgetPush', () => forgetPush(throttled, local.table, push)],
    [
      'acquireLock',
      () =>
        acquireLock(throttled, local.table, env, {
          owner: EXEC_A,
          versionLabel: 'v1',
          imageDigest: DIGEST,
          leaseSeconds: 60,
          now: new Date(),
        }),
    ],
    [
      'takeOverLock',
      () =>
        takeOverLock(throttled, local.table, env, EXEC_B, {
          owner: EXEC_A,
          versionLabel: 'v1',
          imageDigest: DIGEST,
          leaseSeconds: 60,
          now: new Date(),
        }),
    ],
    ['releaseLock', () => releaseLock(throttled, local.table, env, EXEC_A)],
    [
      'recordDeployment (RUNNING)',
      () => recordDeployment(throttled, local.table, entry(env, { outcome: 'RUNNING' })),
    ],
    ['recordDeployment (final)', () => recordDeployment(throttled, local.table, entry(env))],
    ['claimAlert', () => claimAlert(throttled, local.table, EXEC_A, new Date())],
    ['releaseAlertClaim', () => releaseAlertClaim(throttled, local.table, EXEC_A)],
    [
      'claimNextTurn',
      () =>
        claimNextTurn(throttled, local.table, env, {
          executionId: EXEC_A,
          target: 'antenna-prod',
          versionLabel: 'v1',
          since: '2025-06-02T09:00:00.000Z',
        }),
    ],
    ['releaseNextTurn', () => releaseNextTurn(throttled, local.table, env, EXEC_A)],
  ])('is passed on by %s (the state machine retries it), never taken as an answer', async (_name, call) => {
    await expect(call()).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
  });
});
