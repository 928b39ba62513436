import { describe, expect, it } from 'vitest';
import { handler } from '../../../functions/record-outcome.js';
import { InputInvalid, LockLost } from '../../../lib/errors.js';
import {
  acquireLock,
  getLastGood,
  getLock,
  listHistory,
  putLastGood,
  recordDeployment,
} from '../../../lib/store/deployments.js';
import type { DeployState, OutcomeStatus } from '../../../lib/workflow-state.js';
import {
  DIGEST,
  db,
  deploy,
  ENV,
  EXECUTION,
  LABEL,
  lambdaContext,
  lock,
  OLD_DIGEST,
  OLD_LABEL,
  OTHER_EXECUTION,
  PUSHED,
  release,
  STARTED,
  stateBeforeDeploy,
  TABLE,
  useFreshTable,
} from './fixtures.js';

const context = lambdaContext('RecordOutcome');
const OLD_GOOD = {
  versionLabel: OLD_LABEL,
  imageDigest: OLD_DIGEST,
  imagePushedAt: '2026-11-20T08:00:00.000Z',
  deployedAt: '2026-11-20T08:10:00.000Z',
  executionId: OTHER_EXECUTION,
};

function takeLock(owner: string) {
  return acquireLock(db, TABLE, ENV, {
    owner,
    versionLabel: LABEL,
    imageDigest: DIGEST,
    leaseSeconds: 3 * 3600,
    now: new Date(),
  });
}

function endState(status: OutcomeStatus, extra: Partial<DeployState> = {}): DeployState {
  return { ...stateBeforeDeploy(), deploy, outcome: { status }, ...extra };
}

useFreshTable();

describe('record-outcome handler', () => {
  it('on success, makes the new version the last good one and frees the environment', async () => {
    // Arrange
    await putLastGood(db, TABLE, ENV, OLD_GOOD);
    await takeLock(EXECUTION);

    // Act
    const result = await handler(endState('SUCCEEDED'), context);

    // Assert
    expect(result).toMatchObject({ recorded: true, lockReleased: true });
    expect(await getLastGood(db, TABLE, ENV)).toEqual({
      versionLabel: LABEL,
      imageDigest: DIGEST,
      imagePushedAt: PUSHED,
      deployedAt: expect.any(String),
      executionId: EXECUTION,
    });
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
    expect(await listHistory(db, TABLE, ENV)).toEqual([
      expect.objectContaining({
        executionId: EXECUTION,
        fromVersion: OLD_LABEL,
        toVersion: LABEL,
        outcome: 'SUCCEEDED',
        startedAt: STARTED,
      }),
    ]);
  });

  it('replaces the RUNNING history item DeployVersion wrote with the outcome', async () => {
    // Arrange
    await takeLock(EXECUTION);
    await recordDeployment(db, TABLE, {
      ...ENV,
      target: 'antenna-prod',
      executionId: EXECUTION,
      trigger: 'push',
      fromVersion: OLD_LABEL,
      toVersion: LABEL,
      outcome: 'RUNNING',
      startedAt: STARTED,
    });

    // Act
    await handler(endState('SUCCEEDED'), context);

    // Assert
    const history = await listHistory(db, TABLE, ENV);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ outcome: 'SUCCEEDED', endedAt: expect.any(String) });
  });

  it('after a rollback, keeps the last good version and records why', async () => {
    // Arrange
    await putLastGood(db, TABLE, ENV, OLD_GOOD);
    await takeLock(EXECUTION);
    const state = endState('ROLLED_BACK', {
      failure: {
        Error: 'MigrationsPending',
        Cause: JSON.stringify({
          errorType: 'MigrationsPending',
          errorMessage: '"python manage.py migrate --check" exited 1 in container django',
        }),
      },
      rollback: {
        fromVersion: LABEL,
        toVersion: OLD_LABEL,
        startedAt: '2026-11-23T10:06:10.000Z',
        firstPollSeconds: 15,
      },
    });

    // Act
    await handler(state, context);

    // Assert
    expect(await getLastGood(db, TABLE, ENV)).toEqual(OLD_GOOD);
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({
      outcome: 'ROLLED_BACK',
      toVersion: LABEL,
      reason: 'MigrationsPending: "python manage.py migrate --check" exited 1 in container django',
    });
  });

  it('does not release a lock another execution holds, and records nothing (LockLost)', async () => {
    // Arrange: this execution's lease ran out and another execution took the environment.
    await takeLock(OTHER_EXECUTION);

    // Act
    const run = handler(endState('FAILED_BEFORE_DEPLOY', { error: { Error: 'SecretInvalid' } }), context);

    // Assert
    await expect(run).rejects.toThrow(LockLost);
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(OTHER_EXECUTION);
    expect(await listHistory(db, TABLE, ENV)).toEqual([]);
  });

  it('records a push that never held the lock (it waited past its budget) without touching the holder', async () => {
    // Arrange
    await takeLock(OTHER_EXECUTION);
    const { lock: _none, ...neverLocked } = endState('FAILED_BEFORE_DEPLOY', {
      error: { Error: 'EnvironmentBusy' },
    });

    // Act
    const result = await handler(neverLocked, context);

    // Assert
    expect(result).toMatchObject({ recorded: true, lockReleased: false });
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(OTHER_EXECUTION);
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({ outcome: 'FAILED_BEFORE_DEPLOY' });
  });

  it('never moves the last good version for an execution that lost its lock (redriven, stale)', async () => {
    // Arrange: another execution holds the environment now.
    await putLastGood(db, TABLE, ENV, OLD_GOOD);
    await takeLock(OTHER_EXECUTION);

    // Act
    const run = handler(endState('SUCCEEDED'), context);

    // Assert
    await expect(run).rejects.toThrow(LockLost);
    expect((await getLastGood(db, TABLE, ENV))?.versionLabel).toBe(OLD_GOOD.versionLabel);
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(OTHER_EXECUTION);
  });

  it('is safe to run twice: a retry after it succeeded changes nothing more', async () => {
    // Arrange
    await putLastGood(db, TABLE, ENV, OLD_GOOD);
    await takeLock(EXECUTION);
    await handler(endState('SUCCEEDED'), context);

    // Act
    const again = await handler(endState('SUCCEEDED'), context);

    // Assert
    expect(again).toEqual({ recorded: true, lockReleased: false });
    expect((await getLastGood(db, TABLE, ENV))?.versionLabel).toBe(LABEL);
    expect(await listHistory(db, TABLE, ENV)).toHaveLength(1);
  });

  it("masks what the application printed before it reaches history (a secret in a check's output)", async () => {
    // Arrange: the failure quotes a log line with a database URL and its password.
    await takeLock(EXECUTION);
    const state = endState('ROLLED_BACK', {
      failure: {
        Error: 'MigrationsPending',
        Cause: JSON.stringify({ errorMessage: 'psql: postgresql://app:Hunter2Secret@db:5432/app refused' }),
      },
    });

    // Act
    await handler(state, context);

    // Assert
    const [entry] = await listHistory(db, TABLE, ENV);
    expect(entry?.reason).toContain('MigrationsPending');
    expect(entry?.reason).not.toContain('Hunter2Secret');
  });

  it('records nothing when resolution failed and there is no release', async () => {
    // Act
    const result = await handler(
      {
        input: { target: 'antenna-prod', imageTag: 'v99' },
        error: { Error: 'ImageNotFound' },
        outcome: { status: 'FAILED_BEFORE_DEPLOY' },
      },
      context,
    );

    // Assert
    expect(result).toEqual({ recorded: false });
    expect(await listHistory(db, TABLE, ENV)).toEqual([]);
  });

  it('rejects an unknown outcome without writing anything', async () => {
    // Act
    const run = handler({ ...endState('SUCCEEDED'), outcome: { status: 'DONE' }, lock }, context);

    // Assert
    await expect(run).rejects.toThrow('status');
    expect(await listHistory(db, TABLE, ENV)).toEqual([]);
  });

  it.each([
    ['without an outcome', { ...stateBeforeDeploy(), deploy }],
    ['that is null', null],
  ])('rejects a state %s with InputInvalid naming the outcome', async (_what, state) => {
    // Act
    const run = handler(state, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('outcome');
  });

  it('records a failed rollback with the trigger that started the deploy', async () => {
    // Arrange
    await takeLock(EXECUTION);

    // Act
    await handler(endState('ROLLBACK_FAILED', { release: release({ trigger: 'manual' }) }), context);

    // Assert
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({
      trigger: 'manual',
      outcome: 'ROLLBACK_FAILED',
    });
  });
});

describe('record-outcome handler: what on-call reads later', () => {
  it("keeps the rolled-back app's last log lines in history, masked, with the alert's duration", async () => {
    // Arrange: RetrieveLogTail left the tail of the failing instance in the state.
    await takeLock(EXECUTION);
    const state = endState('ROLLED_BACK', {
      diagnostics: {
        logTails: [
          {
            instanceId: 'i-0aaaaaaaaaaaaaaa1',
            source: '/var/log/containers/django-stdouterr.log',
            lines:
              'Traceback (most recent call last):\nOperationalError: postgres://antenna:hunter2@db:5432/antenna',
            truncated: false,
          },
        ],
      },
    } as Partial<DeployState>);

    // Act
    const result = await handler(state, context);

    // Assert
    const [entry] = await listHistory(db, TABLE, ENV, 1);
    expect(entry?.logTail).toEqual({
      instanceId: 'i-0aaaaaaaaaaaaaaa1',
      source: '/var/log/containers/django-stdouterr.log',
      lines: 'Traceback (most recent call last):\nOperationalError: postgres://antenna:***@db:5432/antenna',
    });
    expect(entry?.durationSeconds).toBe((result as { durationSeconds?: number }).durationSeconds);
  });
});
