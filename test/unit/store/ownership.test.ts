/**
 * lib/store/ownership.ts on a real DynamoDB wire protocol (dynalite): proving the lock, the one alert
 * of an execution, and the next turn of a busy environment.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockLost } from '../../../lib/errors.js';
import { acquireLock, type EnvKey, releaseLock } from '../../../lib/store/deployments.js';
import {
  claimAlert,
  claimNextTurn,
  getNextTurn,
  markAlertSent,
  proveLock,
  releaseAlertClaim,
  releaseNextTurn,
  type Waiter,
} from '../../../lib/store/ownership.js';
import { type LocalTable, startLocalTable } from './dynalite-table.js';

const EXEC_A = 'arn:aws:states:us-east-1:123456789012:execution:ebship-deploy:antenna-prod-3f2a9c1b7d4e-push';
const EXEC_B = 'arn:aws:states:us-east-1:123456789012:execution:ebship-deploy:antenna-prod-0b1c2d3e4f5a-push';
const T0 = new Date('2025-06-02T09:00:00.000Z');

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

function lockFor(env: EnvKey, owner: string) {
  return acquireLock(local.db, local.table, env, {
    owner,
    versionLabel: 'v1',
    imageDigest: 'sha256:x',
    leaseSeconds: 3600,
    now: new Date(),
  });
}

describe('proveLock', () => {
  it('remembers an UpdateEnvironment sent for a label until it is settled', async () => {
    // Arrange
    const env = freshEnv();
    await lockFor(env, EXEC_A);

    // Act
    const sent = await proveLock(local.db, local.table, env, EXEC_A, {
      pending: { label: 'v2', update: { requestedAt: '2025-06-02T09:01:00.000Z', fromVersion: 'v1' } },
    });
    const seen = await proveLock(local.db, local.table, env, EXEC_A);
    const settled = await proveLock(local.db, local.table, env, EXEC_A, { settled: 'v2' });

    // Assert
    const pending = { v2: { requestedAt: '2025-06-02T09:01:00.000Z', fromVersion: 'v1' } };
    expect(sent).toEqual({ owner: EXEC_A, pending });
    expect(seen).toEqual({ owner: EXEC_A, pending });
    expect(settled).toEqual({ owner: EXEC_A, pending: {} });
  });

  it('keeps a pending call without a known from-version, and skips entries it cannot read', async () => {
    // Arrange: a first deploy (no version before) and an entry written by hand without a time.
    const env = freshEnv();
    await lockFor(env, EXEC_A);
    await proveLock(local.db, local.table, env, EXEC_A, {
      pending: { label: 'v2', update: { requestedAt: '2025-06-02T09:01:00.000Z' } },
    });
    await proveLock(local.db, local.table, env, EXEC_A, {
      pending: { label: 'v3', update: { fromVersion: 'v1' } as never },
    });

    // Act
    const lock = await proveLock(local.db, local.table, env, EXEC_A);

    // Assert
    expect(lock.pending).toStrictEqual({ v2: { requestedAt: '2025-06-02T09:01:00.000Z' } });
  });

  it('throws LockLost, naming the environment, when another execution or nobody holds it', async () => {
    // Arrange
    const env = freshEnv();
    await lockFor(env, EXEC_B);

    // Act
    const taken = proveLock(local.db, local.table, env, EXEC_A);
    await expect(taken).rejects.toThrow(LockLost);
    await expect(taken).rejects.toThrow(
      `execution ${EXEC_A} no longer holds the lock on antenna/${env.environment}`,
    );
    await releaseLock(local.db, local.table, env, EXEC_B);
    const free = proveLock(local.db, local.table, env, EXEC_A, {
      pending: { label: 'v2', update: { requestedAt: T0.toISOString() } },
    });

    // Assert: nothing was written for the execution that does not hold it.
    await expect(free).rejects.toThrow(LockLost);
    const { Item } = await local.db.send(
      new GetCommand({ TableName: local.table, Key: { pk: `ENV#antenna/${env.environment}`, sk: 'LOCK' } }),
    );
    expect(Item).toBeUndefined();
  });

  it('passes on errors that are not a lost lock (the table is unreachable)', async () => {
    const failing = {
      send: async () => {
        throw Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' });
      },
    } as unknown as typeof local.db;

    await expect(proveLock(failing, local.table, freshEnv(), EXEC_A)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });
});

describe('claimAlert', () => {
  it('lets only the first run of the notify step publish', async () => {
    expect(await claimAlert(local.db, local.table, 'arn:exec-first', T0)).toBe(true);
    expect(await claimAlert(local.db, local.table, 'arn:exec-first', T0)).toBe(false);
    expect(await claimAlert(local.db, local.table, 'arn:exec-other', T0)).toBe(true);
  });

  it('takes a claim left "sending" by a run that died, once it is older than the stale time', async () => {
    // Arrange: claimed at T0, never marked sent.
    await claimAlert(local.db, local.table, 'arn:exec-died', T0);

    // Act / Assert: still fresh at T0 + 120 s; stale one second later.
    const later = (s: number) => new Date(T0.getTime() + s * 1000);
    expect(await claimAlert(local.db, local.table, 'arn:exec-died', later(120))).toBe(false);
    expect(await claimAlert(local.db, local.table, 'arn:exec-died', later(121))).toBe(true);
  });

  it('never publishes again once the alert was sent, however long ago', async () => {
    // Arrange
    await claimAlert(local.db, local.table, 'arn:exec-sent', T0);
    await markAlertSent(local.db, local.table, 'arn:exec-sent', ['msg-1']);

    // Act
    const days = await claimAlert(
      local.db,
      local.table,
      'arn:exec-sent',
      new Date(T0.getTime() + 86_400_000),
    );

    // Assert
    expect(days).toBe(false);
    const { Item } = await local.db.send(
      new GetCommand({ TableName: local.table, Key: { pk: 'EXEC#arn:exec-sent', sk: 'ALERT' } }),
    );
    expect(Item).toMatchObject({ status: 'sent', messageIds: ['msg-1'] });
    // Giving back a sent claim changes nothing.
    await releaseAlertClaim(local.db, local.table, 'arn:exec-sent');
    expect(await claimAlert(local.db, local.table, 'arn:exec-sent', T0)).toBe(false);
  });

  it('lets the retry publish after a failed publish gave the claim back', async () => {
    await claimAlert(local.db, local.table, 'arn:exec-retry', T0);
    await releaseAlertClaim(local.db, local.table, 'arn:exec-retry');
    expect(await claimAlert(local.db, local.table, 'arn:exec-retry', T0)).toBe(true);
    // Giving back a claim nobody holds is not an error.
    await releaseAlertClaim(local.db, local.table, 'arn:exec-never');
  });

  it('keeps the claim as long as Step Functions keeps the execution (90 days)', async () => {
    await claimAlert(local.db, local.table, 'arn:exec-ttl', T0);
    const { Item } = await local.db.send(
      new GetCommand({ TableName: local.table, Key: { pk: 'EXEC#arn:exec-ttl', sk: 'ALERT' } }),
    );
    expect(Item?.expiresAt).toBe(Math.floor(T0.getTime() / 1000) + 90 * 86_400);
  });
});

describe('the next turn', () => {
  const waiter = (executionId: string, imagePushedAt?: string): Waiter => ({
    executionId,
    target: 'antenna-prod',
    versionLabel: executionId === EXEC_A ? 'v1.4.2-3f2a9c1b7d4e' : 'v1.4.3-0b1c2d3e4f5a',
    ...(imagePushedAt ? { imagePushedAt } : {}),
    since: T0.toISOString(),
  });

  it('goes to the newest push: an older waiting push gives way, a newer one keeps it', async () => {
    // Arrange
    const env = freshEnv();
    const older = waiter(EXEC_A, '2025-06-02T08:00:00.000Z');
    const newer = waiter(EXEC_B, '2025-06-02T08:30:00.000Z');

    // Act / Assert
    expect(await claimNextTurn(local.db, local.table, env, older)).toEqual({ mine: true });
    expect(await claimNextTurn(local.db, local.table, env, newer)).toEqual({ mine: true });
    expect(await claimNextTurn(local.db, local.table, env, older)).toEqual({ mine: false, by: newer });
    expect(await claimNextTurn(local.db, local.table, env, newer)).toEqual({ mine: true });
    expect(await getNextTurn(local.db, local.table, env)).toEqual(newer);
  });

  it('stays with the push already waiting when two were pushed at the same instant', async () => {
    const env = freshEnv();
    const first = waiter(EXEC_A, '2025-06-02T08:00:00.000Z');
    await claimNextTurn(local.db, local.table, env, first);

    expect(await claimNextTurn(local.db, local.table, env, waiter(EXEC_B, first.imagePushedAt))).toEqual({
      mine: false,
      by: first,
    });
  });

  it('reads a waiter without a push time as one, and lets any push with a time go first', async () => {
    const env = freshEnv();
    const unknown = waiter(EXEC_A);
    await claimNextTurn(local.db, local.table, env, unknown);

    expect(await getNextTurn(local.db, local.table, env)).toEqual(unknown);
    expect(
      await claimNextTurn(local.db, local.table, env, waiter(EXEC_B, '2025-06-02T08:00:00.000Z')),
    ).toEqual({
      mine: true,
    });
  });

  it('is given up only by the push that holds it', async () => {
    // Arrange
    const env = freshEnv();
    await claimNextTurn(local.db, local.table, env, waiter(EXEC_B, '2025-06-02T08:30:00.000Z'));

    // Act
    await releaseNextTurn(local.db, local.table, env, EXEC_A);
    const kept = await getNextTurn(local.db, local.table, env);
    await releaseNextTurn(local.db, local.table, env, EXEC_B);

    // Assert
    expect(kept?.executionId).toBe(EXEC_B);
    expect(await getNextTurn(local.db, local.table, env)).toBeUndefined();
  });

  it('counts a turn given up between the claim and the read as mine', async () => {
    // Arrange: the claim fails (a newer push waits), and that push takes the lock before the read.
    const env = freshEnv();
    await claimNextTurn(local.db, local.table, env, waiter(EXEC_B, '2025-06-02T08:30:00.000Z'));
    const releasing = {
      send: async (command: unknown) => {
        try {
          return await local.db.send(command as never);
        } catch (err) {
          await releaseNextTurn(local.db, local.table, env, EXEC_B);
          throw err;
        }
      },
    } as unknown as typeof local.db;

    // Act
    const result = await claimNextTurn(
      releasing,
      local.table,
      env,
      waiter(EXEC_A, '2025-06-02T08:00:00.000Z'),
    );

    // Assert: the next poll claims it again.
    expect(result).toEqual({ mine: true });
  });
});
