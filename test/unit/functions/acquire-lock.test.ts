import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/acquire-lock.js';
import { EnvironmentBusy, InputInvalid } from '../../../lib/errors.js';
import { acquireLock, getLock, putLastGood } from '../../../lib/store/deployments.js';
import {
  awsError,
  DIGEST,
  db,
  ENV,
  EXECUTION,
  LABEL,
  lambdaContext,
  mocks,
  OLD_DIGEST,
  OLD_LABEL,
  OTHER_EXECUTION,
  PUSHED,
  pushEvent,
  release,
  TABLE,
  useFreshTable,
} from './fixtures.js';

const context = lambdaContext('AcquireLock');
const SECOND_EXECUTION = EXECUTION.replace(/push$/, 'push-redelivered');
/** v11, pushed an hour after v10. */
const NEWER = {
  versionLabel: 'v11-111111111111',
  imageDigest: `sha256:${'11'.repeat(32)}`,
  imagePushedAt: '2026-11-23T10:58:40.000Z',
};

function deployedNow(good: { versionLabel: string; imageDigest: string; imagePushedAt: string }) {
  return putLastGood(db, TABLE, ENV, {
    ...good,
    deployedAt: '2026-11-23T11:05:00.000Z',
    executionId: OTHER_EXECUTION,
  });
}

useFreshTable();

beforeEach(() => {
  mocks.sfn.reset();
  mocks.sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
});

/** Another execution holds the environment, deploying the newer image. */
function otherExecutionDeploys() {
  return acquireLock(db, TABLE, ENV, {
    owner: OTHER_EXECUTION,
    versionLabel: NEWER.versionLabel,
    imageDigest: NEWER.imageDigest,
    leaseSeconds: 3 * 3600,
    now: new Date(),
  });
}

describe('acquire-lock handler', () => {
  it('takes the environment for this execution on a new push', async () => {
    // Arrange
    await deployedNow({
      versionLabel: OLD_LABEL,
      imageDigest: OLD_DIGEST,
      imagePushedAt: '2026-11-20T08:00:00Z',
    });

    // Act
    const result = await handler({ input: pushEvent(), release: release() }, context);

    // Assert
    expect(result).toEqual({ owner: EXECUTION, expiresAt: expect.any(String) });
    expect(result.skipped).toBeUndefined();
    expect(await getLock(db, TABLE, ENV)).toMatchObject({
      owner: EXECUTION,
      versionLabel: LABEL,
      imageDigest: DIGEST,
    });
  });

  it('skips a redelivered push of a digest another execution already handles', async () => {
    // Arrange: EventBridge delivered the same push twice, to two executions.
    await handler({ release: release() }, context);

    // Act
    const second = await handler({ release: release({ executionId: SECOND_EXECUTION }) }, context);

    // Assert
    expect(second.skipped?.reason).toBe(`duplicate push of ${DIGEST} to antenna-backend: already handled`);
    expect(second.owner).toBeUndefined();
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(EXECUTION);
  });

  it('is idempotent when Lambda runs the step twice for one execution', async () => {
    // Arrange
    await handler({ release: release() }, context);

    // Act
    const again = await handler({ release: release() }, context);

    // Assert
    expect(again.skipped).toBeUndefined();
    expect(again.owner).toBe(EXECUTION);
  });

  it('skips a push of the digest that is already deployed', async () => {
    // Arrange
    await deployedNow({ versionLabel: LABEL, imageDigest: DIGEST, imagePushedAt: PUSHED });

    // Act
    const result = await handler({ release: release() }, context);

    // Assert
    expect(result.skipped?.reason).toBe(`${DIGEST} is already deployed as ${LABEL}`);
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('never downgrades on push: an image pushed before the deployed one is skipped', async () => {
    // Arrange: v11 is deployed; the v10 push event arrives late.
    await deployedNow(NEWER);

    // Act
    const result = await handler({ release: release() }, context);

    // Assert
    expect(result.skipped?.reason).toContain(
      `${DIGEST} was pushed before the deployed ${NEWER.versionLabel}`,
    );
    expect(result.skipped?.reason).toContain('deploy it by hand to do so');
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('deploys an older digest when a person asks for it by hand', async () => {
    // Arrange
    await deployedNow(NEWER);

    // Act
    const result = await handler({ release: release({ trigger: 'manual' }) }, context);

    // Assert
    expect(result.skipped).toBeUndefined();
    expect(result.owner).toBe(EXECUTION);
    expect((await getLock(db, TABLE, ENV))?.versionLabel).toBe(LABEL);
  });

  it('waits, for free in the state machine, while another execution holds the environment', async () => {
    // Arrange: a push that started just now finds the environment busy.
    await otherExecutionDeploys();

    // Act
    const result = await handler({ release: release({ startedAt: new Date().toISOString() }) }, context);

    // Assert: poll again in about a minute; the holder keeps the environment.
    expect(result.waiting).toMatchObject({ holder: OTHER_EXECUTION, nextPollSeconds: expect.any(Number) });
    expect(result.waiting?.nextPollSeconds).toBeGreaterThanOrEqual(48);
    expect(result.waiting?.nextPollSeconds).toBeLessThanOrEqual(72);
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(OTHER_EXECUTION);
  });

  it('treats a holder it cannot look up (throttled, access denied) as alive: never two deploys at once', async () => {
    // Arrange
    await otherExecutionDeploys();
    mocks.sfn.on(DescribeExecutionCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));

    // Act
    const result = await handler({ release: release({ startedAt: new Date().toISOString() }) }, context);

    // Assert
    expect(result.owner).toBeUndefined();
    expect(result.waiting?.holder).toBe(OTHER_EXECUTION);
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(OTHER_EXECUTION);
  });

  it('once its wait budget is spent, fails with EnvironmentBusy naming the execution that holds the environment', async () => {
    // Arrange
    await otherExecutionDeploys();

    // Act
    const run = handler({ release: release() }, context);

    // Assert
    await expect(run).rejects.toThrow(EnvironmentBusy);
    await expect(run).rejects.toThrow(
      `antenna/antenna-prod is being deployed by execution ${OTHER_EXECUTION} (version ${NEWER.versionLabel}`,
    );
    expect(mocks.sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: OTHER_EXECUTION });
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(OTHER_EXECUTION);
  });

  it.each([
    [
      'was stopped from the console',
      () => mocks.sfn.on(DescribeExecutionCommand).resolves({ status: 'ABORTED' }),
    ],
    [
      'no longer exists',
      () =>
        mocks.sfn
          .on(DescribeExecutionCommand)
          .rejects(awsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${OTHER_EXECUTION}'`)),
    ],
  ])('takes over the lock of an execution that %s', async (_why, holderIsGone) => {
    // Arrange
    await otherExecutionDeploys();
    holderIsGone();

    // Act
    const result = await handler({ release: release() }, context);

    // Assert
    expect(result.owner).toBe(EXECUTION);
    expect((await getLock(db, TABLE, ENV))?.owner).toBe(EXECUTION);
  });

  it('rejects a state without a release with InputInvalid, before touching the table', async () => {
    // Act
    const run = handler({ input: pushEvent(), resolved: { ignored: { reason: 'x' } } }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "release"');
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });
});
