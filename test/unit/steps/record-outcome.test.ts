/**
 * RecordOutcome (lib/steps/record-outcome.ts): the line `ebship history` shows for a deployment, what
 * a redriven execution may still write, and whether a push is forgotten so it can be pushed again.
 */
import { describe, expect, it, vi } from 'vitest';
import { dynamo } from '../../../lib/aws/clients/dynamo.js';
import { LockLost } from '../../../lib/errors.js';
import { acquireDeployLock } from '../../../lib/steps/acquire-lock.js';
import { outcomeReason, recordOutcome } from '../../../lib/steps/record-outcome.js';
import {
  acquireLock,
  getLastGood,
  getLock,
  type HistoryOutcome,
  listHistory,
  putLastGood,
  recordDeployment,
  recordPush,
} from '../../../lib/store/deployments.js';
import type { DeployState, HealthProgress, OutcomeStatus } from '../../../lib/workflow-state.js';
import {
  DIGEST,
  db,
  deploy,
  ENV,
  EXECUTION,
  LABEL,
  OLD_DIGEST,
  OLD_LABEL,
  OTHER_EXECUTION,
  release,
  STARTED,
  stateBeforeDeploy,
  TABLE,
  useFreshTable,
} from '../functions/fixtures.js';

useFreshTable();

const OLD_GOOD = {
  versionLabel: OLD_LABEL,
  imageDigest: OLD_DIGEST,
  imagePushedAt: '2026-11-20T08:00:00.000Z',
  deployedAt: '2026-11-20T08:10:00.000Z',
  executionId: OTHER_EXECUTION,
};

function endState(status: OutcomeStatus, extra: Partial<DeployState> = {}): DeployState {
  return { ...stateBeforeDeploy(), deploy, outcome: { status }, ...extra };
}

function watch(verdict: HealthProgress['verdict'], causes: string[]): HealthProgress {
  return { verdict, polls: 9, nextPollSeconds: 15, causes, events: [] };
}

function takeLock(owner: string) {
  return acquireLock(db, TABLE, ENV, {
    owner,
    versionLabel: LABEL,
    imageDigest: DIGEST,
    leaseSeconds: 3 * 3600,
    now: new Date(),
  });
}

describe('RecordOutcome: the reason history shows', () => {
  it('says "healthy" for a success, or the first thing the watch said', () => {
    expect(outcomeReason(endState('SUCCEEDED'), 'SUCCEEDED')).toBe('healthy');
    expect(
      outcomeReason(
        endState('SUCCEEDED', { health: watch('healthy', ['Green for 60s', 'second']) }),
        'SUCCEEDED',
      ),
    ).toBe('Green for 60s');
  });

  it('shows a success\'s notes a person should read, warn-only check failures and a skipped release phase, instead of "healthy"', () => {
    // Arrange
    const state = endState('SUCCEEDED', {
      health: watch('healthy', ['Green for 60s']),
      checks: {
        status: 'passed',
        runs: [],
        polls: 1,
        nextPollSeconds: 5,
        warnings: ['smoke: 502 from /health'],
      },
      releasePhase: {
        status: 'skipped',
        polls: 0,
        nextPollSeconds: 5,
        note: 'release phase skipped: no instance',
      },
    });
    const long = endState('SUCCEEDED', {
      checks: { status: 'passed', runs: [], polls: 1, nextPollSeconds: 5, warnings: ['x'.repeat(1200)] },
    });

    // Act
    const reason = outcomeReason(state, 'SUCCEEDED');

    // Assert
    expect(reason).toBe('smoke: 502 from /health; release phase skipped: no instance');
    expect(outcomeReason(long, 'SUCCEEDED')).toHaveLength(1000);
  });

  it('names the error a Catch caught, then the failure, then at most two health causes', () => {
    // Arrange
    const state = endState('ROLLED_BACK', {
      error: { Error: 'UpdateOutcomeUnknown', Cause: 'no answer' },
      failure: { Error: 'MigrationsPending' },
      health: watch('rollback', ['Red: 100 % of requests fail', 'i-0abc is Severe', 'third cause']),
    });

    // Act
    const reason = outcomeReason(state, 'ROLLED_BACK');

    // Assert
    expect(reason).toBe(
      'UpdateOutcomeUnknown: no answer; MigrationsPending; Red: 100 % of requests fail; i-0abc is Severe',
    );
  });

  it.each(['rollback', 'timeout', 'overridden'] as const)(
    'quotes the watch when its verdict is %s',
    (verdict) => {
      const state = endState('ROLLED_BACK', { health: watch(verdict, [`why ${verdict}`]) });
      expect(outcomeReason(state, 'ROLLED_BACK')).toBe(`why ${verdict}`);
    },
  );

  it('never quotes a watch that was still waiting or healthy as the reason of a failure', () => {
    for (const verdict of ['wait', 'healthy'] as const) {
      const state = endState('ROLLED_BACK', { health: watch(verdict, ['Green for 30s of the 60s bake']) });
      expect(outcomeReason(state, 'ROLLED_BACK')).toBe('ROLLED_BACK');
    }
  });

  it.each<[OutcomeStatus, string]>([
    ['ROLLBACK_FAILED', 'Red after the deploy; v9 Red too'],
    ['OVERRIDDEN', 'Red after the deploy; v9 Red too'],
    ['ROLLED_BACK', 'Red after the deploy'],
  ])('adds what the rollback watch said for %s', (status, expected) => {
    // Arrange
    const state = endState(status, {
      health: watch('rollback', ['Red after the deploy']),
      rollbackHealth: watch('rollback', ['v9 Red too', 'not this one']),
    });

    // Act / Assert
    expect(outcomeReason(state, status)).toBe(expected);
  });

  it('falls back to the outcome, and keeps history items small (1,000 characters)', () => {
    expect(outcomeReason(endState('FAILED_BEFORE_DEPLOY'), 'FAILED_BEFORE_DEPLOY')).toBe(
      'FAILED_BEFORE_DEPLOY',
    );
    const long = endState('FAILED_BEFORE_DEPLOY', {
      error: { Error: 'BundleInvalid', Cause: 'x'.repeat(5000) },
    });
    expect(outcomeReason(long, 'FAILED_BEFORE_DEPLOY')).toHaveLength(1000);
  });
});

describe('RecordOutcome: a redriven execution', () => {
  it.each<HistoryOutcome>(['RUNNING', 'ABORTED', 'TIMED_OUT'])(
    'records nothing over an execution finalised as %s, and never moves the last good version',
    async (finalised) => {
      // Arrange: the execution was stopped; the ended-execution rule wrote its outcome and freed
      // the lock (or, for RUNNING, DeployVersion's entry is all there is).
      await putLastGood(db, TABLE, ENV, OLD_GOOD);
      await recordDeployment(db, TABLE, {
        ...ENV,
        target: 'antenna-prod',
        executionId: EXECUTION,
        trigger: 'push',
        toVersion: LABEL,
        outcome: finalised,
        startedAt: STARTED,
      });

      // Act: redriven, it reaches RecordOutcome.
      const run = recordOutcome(endState('SUCCEEDED'), 'SUCCEEDED');

      // Assert
      await expect(run).rejects.toThrow(LockLost);
      await expect(run).rejects.toThrow(
        `execution ${EXECUTION} no longer holds the lock on antenna/antenna-prod: it was stopped or timed out ` +
          'and its outcome was already recorded; this redriven run records nothing',
      );
      expect(await getLastGood(db, TABLE, ENV)).toEqual(OLD_GOOD);
      expect((await listHistory(db, TABLE, ENV))[0]?.outcome).toBe(finalised);
    },
  );

  it('never takes another execution’s history entry for its own', async () => {
    // Arrange: the environment has another execution's finished deployment; none of this one's.
    await recordDeployment(db, TABLE, {
      ...ENV,
      target: 'antenna-prod',
      executionId: OTHER_EXECUTION,
      trigger: 'manual',
      toVersion: OLD_LABEL,
      outcome: 'SUCCEEDED',
      startedAt: '2026-11-20T08:00:00.000Z',
    });

    // Act
    const run = recordOutcome(endState('SUCCEEDED'), 'SUCCEEDED');

    // Assert
    await expect(run).rejects.toThrow(LockLost);
    expect(await listHistory(db, TABLE, ENV)).toHaveLength(1);
  });
});

describe('RecordOutcome: a throttled table', () => {
  it('passes the error on for a retry, and the environment stays locked to this execution until then', async () => {
    // Arrange: the ownership check is throttled once (DynamoDB: ProvisionedThroughputExceededException).
    await putLastGood(db, TABLE, ENV, OLD_GOOD);
    await takeLock(EXECUTION);
    vi.spyOn(dynamo, 'send').mockImplementationOnce(async () => {
      throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
        name: 'ProvisionedThroughputExceededException',
      });
    });

    // Act
    const run = recordOutcome(endState('SUCCEEDED'), 'SUCCEEDED');

    // Assert: never taken as "lock lost", which would leave the lock held and the version unrecorded.
    await expect(run).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    vi.restoreAllMocks();
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(EXECUTION);
    expect(await recordOutcome(endState('SUCCEEDED'), 'SUCCEEDED')).toMatchObject({
      recorded: true,
      lockReleased: true,
    });
    expect((await getLastGood(db, TABLE, ENV))?.versionLabel).toBe(LABEL);
  });
});

describe('RecordOutcome: pushes remembered or forgotten', () => {
  const pushAgain = (executionId: string) =>
    recordPush(db, TABLE, {
      repository: 'antenna-backend',
      imageDigest: DIGEST,
      target: 'antenna-prod',
      executionId,
      now: new Date(),
      ttlSeconds: 3600,
    });

  it('forgets a push that failed before deploying, so pushing it again after the fix deploys', async () => {
    // Arrange
    await acquireDeployLock(release());

    // Act
    await recordOutcome(
      endState('FAILED_BEFORE_DEPLOY', { error: { Error: 'SecretInvalid' } }),
      'FAILED_BEFORE_DEPLOY',
    );

    // Assert
    expect(await pushAgain(OTHER_EXECUTION)).toBe('new');
  });

  it.each<OutcomeStatus>(['ROLLED_BACK', 'SUCCEEDED'])(
    'still remembers a push that reached EB (%s): a redelivery is a duplicate',
    async (status) => {
      // Arrange
      await acquireDeployLock(release());

      // Act
      await recordOutcome(endState(status), status);

      // Assert
      expect(await pushAgain(OTHER_EXECUTION)).toBe('duplicate');
    },
  );

  it('records when the image was pushed and when the rollback started, for `ebship stats`', async () => {
    // Arrange
    await takeLock(EXECUTION);
    const base = endState('ROLLED_BACK');
    const state = endState('ROLLED_BACK', {
      release: {
        ...(base.release as NonNullable<DeployState['release']>),
        imagePushedAt: '2026-11-23T09:58:00.000Z',
      },
      rollback: {
        fromVersion: LABEL,
        toVersion: 'v1.4.0-aaaaaaaaaaaa',
        startedAt: '2026-11-23T10:05:00.000Z',
        firstPollSeconds: 15,
      },
    });

    // Act
    await recordOutcome(state, 'ROLLED_BACK');

    // Assert
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({
      imagePushedAt: '2026-11-23T09:58:00.000Z',
      rollbackStartedAt: '2026-11-23T10:05:00.000Z',
    });
  });

  it('records a deploy forced through a freeze as such', async () => {
    await takeLock(EXECUTION);
    const base = endState('SUCCEEDED');

    await recordOutcome(
      {
        ...base,
        release: { ...(base.release as NonNullable<DeployState['release']>), forced: true },
        lock: { ...base.lock, forced: ['through a freeze'] },
      },
      'SUCCEEDED',
    );

    expect((await listHistory(db, TABLE, ENV))[0]?.reason).toBe('forced through a freeze (--force); healthy');
  });

  it('names everything --force overrode', async () => {
    await takeLock(EXECUTION);
    const base = endState('SUCCEEDED');
    const release = { ...(base.release as NonNullable<DeployState['release']>), forced: true };

    await recordOutcome(
      {
        ...base,
        release,
        lock: {
          ...base.lock,
          forced: ['through a freeze', 'past the promotion gate (never succeeded on antenna-staging)'],
        },
      },
      'SUCCEEDED',
    );
    expect((await listHistory(db, TABLE, ENV))[0]?.reason).toBe(
      'forced through a freeze and past the promotion gate (never succeeded on antenna-staging) (--force); healthy',
    );
  });

  it('records the duration in seconds since the execution started', async () => {
    // Arrange
    await takeLock(EXECUTION);

    // Act
    await recordOutcome(endState('SUCCEEDED'), 'SUCCEEDED', new Date(Date.parse(STARTED) + 616_000));

    // Assert
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({
      durationSeconds: 616,
      endedAt: '2026-11-23T10:10:16.000Z',
    });
  });
});
