/**
 * AcquireLock's decisions (lib/steps/acquire-lock.ts) at their edges: how long a push is remembered,
 * who takes the next turn, how long a push waits, and when a holder counts as ended.
 */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { getTarget } from '../../../lib/config/load.js';
import { EnvironmentBusy } from '../../../lib/errors.js';
import { config } from '../../../lib/runtime.js';
import { acquireDeployLock, waitBudgetSeconds } from '../../../lib/steps/acquire-lock.js';
import { acquireLock, getLock, listHistory, releaseLock } from '../../../lib/store/deployments.js';
import { claimNextTurn, getNextTurn } from '../../../lib/store/ownership.js';
import {
  awsError,
  db,
  ENV,
  EXECUTION,
  mocks,
  OTHER_EXECUTION,
  PUSHED,
  release,
  STARTED,
  TABLE,
  useFreshTable,
} from '../functions/fixtures.js';

useFreshTable();

const SECOND_EXECUTION = EXECUTION.replace(/push$/, 'push-redelivered');
const NEWER_PUSH = EXECUTION.replace(/7f5b2640fe6f-push$/, '111111111111-push');
const HOUR = 3600 * 1000;

beforeEach(() => {
  mocks.sfn.reset();
  mocks.sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** `owner` holds the environment from `now` for three hours. */
function held(owner: string, now = new Date()) {
  return acquireLock(db, TABLE, ENV, {
    owner,
    versionLabel: 'v11-111111111111',
    imageDigest: `sha256:${'11'.repeat(32)}`,
    leaseSeconds: 3 * 3600,
    now,
  });
}

/** A push of v11 (pushed an hour after v10) waits for the environment and holds its next turn. */
function newerPushWaits() {
  return claimNextTurn(db, TABLE, ENV, {
    executionId: NEWER_PUSH,
    target: 'antenna-prod',
    versionLabel: 'v11-111111111111',
    imagePushedAt: new Date(Date.parse(PUSHED) + HOUR).toISOString(),
    since: STARTED,
  });
}

describe('AcquireLock: duplicate pushes', () => {
  it('still skips a push EventBridge redelivers 23 hours later (it retries a target for 24 h)', async () => {
    // Arrange: the first delivery deployed and released the environment.
    const first = new Date(STARTED);
    await acquireDeployLock(release(), first);
    await releaseLock(db, TABLE, ENV, EXECUTION);

    // Act
    const late = await acquireDeployLock(
      release({ executionId: SECOND_EXECUTION }),
      new Date(first.getTime() + 23 * HOUR),
    );

    // Assert
    expect(late.skipped?.reason).toMatch(/^duplicate push of sha256:7f5b/);
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });
});

describe('AcquireLock: the next turn', () => {
  it('lets a newer waiting push go first when the environment frees up: the older push ends Skipped', async () => {
    // Arrange: nobody holds the environment, but v11's push waits for its turn.
    await newerPushWaits();

    // Act
    const result = await acquireDeployLock(release());

    // Assert
    expect(result.skipped?.reason).toContain('superseded by a newer push, v11-111111111111');
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
    expect((await getNextTurn(db, TABLE, ENV))?.executionId).toBe(NEWER_PUSH);
  });

  it('lets the newer of two pushes that waited through a busy environment deploy, not the older one', async () => {
    // Arrange: another execution deploys; v11's push (an hour newer) comes and waits for it.
    await held(OTHER_EXECUTION);
    const v11 = release({
      executionId: NEWER_PUSH,
      imageTag: 'v11',
      imageDigest: `sha256:${'11'.repeat(32)}`,
      versionLabel: 'v11-111111111111',
      imagePushedAt: new Date(Date.parse(PUSHED) + HOUR).toISOString(),
      startedAt: new Date().toISOString(),
    });
    const waited = await acquireDeployLock(v11);
    await releaseLock(db, TABLE, ENV, OTHER_EXECUTION);

    // Act: v10's push, delivered late, finds the environment free.
    const result = await acquireDeployLock(release());

    // Assert
    expect(waited.waiting?.holder).toBe(OTHER_EXECUTION);
    expect(result.skipped?.reason).toContain('superseded by a newer push, v11-111111111111');
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('never lets a waiting push supersede a deploy someone asked for by hand, nor takes its turn', async () => {
    // Arrange: another execution deploys; v11's push waits; a person deploys v10 by hand.
    await held(OTHER_EXECUTION);
    await newerPushWaits();

    // Act
    const result = await acquireDeployLock(
      release({ trigger: 'manual', startedAt: new Date().toISOString() }),
    );

    // Assert: the manual deploy waits too, and the push keeps its turn.
    expect(result.skipped).toBeUndefined();
    expect(result.waiting?.holder).toBe(OTHER_EXECUTION);
    expect((await getNextTurn(db, TABLE, ENV))?.executionId).toBe(NEWER_PUSH);
  });
});

describe('AcquireLock: waiting for a busy environment', () => {
  const budget = () => waitBudgetSeconds(getTarget(config(), 'antenna-prod'));

  it('waits through its whole budget and gives up only past it, saying what to do', async () => {
    // Arrange
    await held(OTHER_EXECUTION);
    const now = new Date();
    const startedAgo = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();

    // Act
    const atBudget = await acquireDeployLock(release({ startedAt: startedAgo(budget()) }), now);
    const past = acquireDeployLock(release({ startedAt: startedAgo(budget() + 1) }), now);

    // Assert
    expect(budget()).toBeGreaterThan(0);
    expect(atBudget.waiting?.holder).toBe(OTHER_EXECUTION);
    await expect(past).rejects.toThrow(EnvironmentBusy);
    await expect(past).rejects.toThrow(`Waited ${budget() + 1}s, all this execution can spare`);
    await expect(past).rejects.toThrow(
      `(21600s execution limit less ${21_600 - budget()}s for its own deploy): deploy again when it is free`,
    );
  });

  it.each([
    [0, 48],
    [0.5, 60],
    [0.999999, 72],
  ])('polls again in a minute, ±20%% (random %d → %d s)', async (random, seconds) => {
    // Arrange
    await held(OTHER_EXECUTION);
    vi.spyOn(Math, 'random').mockReturnValue(random);

    // Act
    const result = await acquireDeployLock(release({ startedAt: new Date().toISOString() }));

    // Assert
    expect(result.waiting?.nextPollSeconds).toBe(seconds);
  });

  it('never takes over a holder that is not an execution (Step Functions cannot say it ended)', async () => {
    // Arrange: a lock whose owner is no execution ARN; DescribeExecution would answer InvalidArn.
    await held('ebship-operator-hold');
    mocks.sfn.on(DescribeExecutionCommand).rejects(awsError('InvalidArn', 'Invalid Arn'));

    // Act
    const result = await acquireDeployLock(release({ startedAt: new Date().toISOString() }));

    // Assert
    expect(result.owner).toBeUndefined();
    expect(result.waiting?.holder).toBe('ebship-operator-hold');
    expect((await getLock(db, TABLE, ENV))?.owner).toBe('ebship-operator-hold');
  });

  it('never takes over a holder whose DescribeExecution answer carries no status', async () => {
    // Arrange
    await held(OTHER_EXECUTION);
    mocks.sfn.on(DescribeExecutionCommand).resolves({});

    // Act
    const result = await acquireDeployLock(release({ startedAt: new Date().toISOString() }));

    // Assert
    expect(result.waiting?.holder).toBe(OTHER_EXECUTION);
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(OTHER_EXECUTION);
  });
});

describe('AcquireLock: skipped pushes in history', () => {
  it('records how long a skipped push took, in seconds since it started', async () => {
    // Arrange: the push is already deployed; its execution started 90 s ago.
    await acquireDeployLock(release({ executionId: SECOND_EXECUTION }));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date(Date.parse(STARTED) + 90_000));

    // Act
    const result = await acquireDeployLock(release());

    // Assert
    expect(result.skipped).toBeDefined();
    const [entry] = await listHistory(db, TABLE, ENV);
    expect(entry).toMatchObject({ executionId: EXECUTION, outcome: 'SKIPPED', durationSeconds: 90 });
  });
});
