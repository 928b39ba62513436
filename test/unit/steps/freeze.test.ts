/**
 * Freezes in AcquireLock (issue 14): a push to a frozen environment is held (the newest wins) and
 * changes nothing; a manual deploy needs --force; a rollback always runs; a freeze past its
 * `until` is over. Real DynamoDB semantics through dynalite.
 */
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import { acquireDeployLock } from '../../../lib/steps/acquire-lock.js';
import { getLock, listHistory, recordPush, releaseLock } from '../../../lib/store/deployments.js';
import { getHeld, putFreeze } from '../../../lib/store/freeze.js';
import {
  db,
  ENV,
  EXECUTION,
  mocks,
  PUSHED,
  release,
  STARTED,
  TABLE,
  useFreshTable,
} from '../functions/fixtures.js';

useFreshTable();

const NOW = new Date(STARTED);
const HOUR = 3600_000;
const NEWER = EXECUTION.replace(/7f5b2640fe6f-push$/, '222222222222-push');
const NEWER_DIGEST = `sha256:${'22'.repeat(32)}`;

beforeEach(() => {
  mocks.sfn.reset();
  mocks.sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
});

function freeze(until?: string) {
  return putFreeze(db, TABLE, ENV, {
    reason: 'INC-42: payments down',
    by: 'alice',
    frozenAt: '2026-11-23T09:00:00.000Z',
    ...(until ? { until } : {}),
  });
}

describe('AcquireLock: a frozen environment', () => {
  it('holds a push instead of deploying it, says so in history, and forgets its dedupe marker', async () => {
    await freeze();

    const result = await acquireDeployLock(release(), NOW);

    expect(result.skipped?.reason).toContain('held: antenna-prod is frozen');
    expect(result.skipped?.reason).toContain('"INC-42: payments down"');
    expect(result.skipped?.reason).toContain('ebship unfreeze antenna-prod');
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
    expect(await getHeld(db, TABLE, ENV)).toMatchObject({ executionId: EXECUTION, imagePushedAt: PUSHED });
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({ outcome: 'SKIPPED' });
    // Deploying it after the unfreeze is the same push again: it must not count as a duplicate.
    const again = await recordPush(db, TABLE, {
      repository: 'antenna-backend',
      imageDigest: release().imageDigest,
      target: 'antenna-prod',
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:ebship-deploy:unfrozen',
      now: NOW,
      ttlSeconds: 3600,
    });
    expect(again).toBe('new');
  });

  it('keeps only the newest held push: the one the unfreeze deploys', async () => {
    await freeze();
    const newer = release({
      executionId: NEWER,
      imageDigest: NEWER_DIGEST,
      versionLabel: 'v11-222222222222',
      imagePushedAt: new Date(Date.parse(PUSHED) + HOUR).toISOString(),
    });

    await acquireDeployLock(newer, NOW);
    const older = await acquireDeployLock(release(), NOW);

    expect(older.skipped?.reason).toContain('a newer push is already held');
    expect(await getHeld(db, TABLE, ENV)).toMatchObject({
      executionId: NEWER,
      versionLabel: 'v11-222222222222',
    });
  });

  it('refuses a manual deploy without --force, naming the command that goes through', async () => {
    await freeze();

    const result = await acquireDeployLock(release({ trigger: 'manual' }), NOW);

    expect(result.skipped?.reason).toContain('antenna-prod is frozen');
    expect(result.skipped?.reason).toContain(
      `ebship deploy antenna-prod --digest ${release().imageDigest} --force`,
    );
    expect(await getLock(db, TABLE, ENV)).toBeUndefined();
  });

  it('lets a forced manual deploy and any rollback through', async () => {
    await freeze();

    const forced = await acquireDeployLock(release({ trigger: 'manual', forced: true }), NOW);

    expect(forced.owner).toBe(EXECUTION);
    await releaseLock(db, TABLE, ENV, EXECUTION);
    const rollback = await acquireDeployLock(release({ trigger: 'rollback', executionId: NEWER }), NOW);
    expect(rollback.owner).toBe(NEWER);
  });

  it('is over at its `until`: a push after it deploys', async () => {
    await freeze(new Date(NOW.getTime() - 1000).toISOString());

    const result = await acquireDeployLock(release(), NOW);

    expect(result.owner).toBe(EXECUTION);
    expect(await getHeld(db, TABLE, ENV)).toBeUndefined();
  });
});
