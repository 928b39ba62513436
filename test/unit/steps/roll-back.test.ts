/** RollBack (lib/steps/roll-back.ts): what the rollback result tells the alert. */
import {
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { rollBack } from '../../../lib/steps/roll-back.js';
import { acquireLock, putLastGood } from '../../../lib/store/deployments.js';
import {
  db,
  ENV,
  EXECUTION,
  LABEL,
  mocks,
  OLD_DIGEST,
  OLD_LABEL,
  OTHER_EXECUTION,
  release,
  TABLE,
  useFreshTable,
} from '../functions/fixtures.js';

useFreshTable();

beforeEach(async () => {
  await acquireLock(db, TABLE, ENV, {
    owner: EXECUTION,
    versionLabel: LABEL,
    imageDigest: 'sha256:x',
    leaseSeconds: 10_800,
    now: new Date(),
  });
  await putLastGood(db, TABLE, ENV, {
    versionLabel: OLD_LABEL,
    imageDigest: OLD_DIGEST,
    deployedAt: '2026-11-20T08:10:00.000Z',
    executionId: OTHER_EXECUTION,
  });
  mocks.eb.reset();
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
});

describe('RollBack', () => {
  it('names the failed version it rolls back from, also when EB had already reverted by itself', async () => {
    // Arrange: EB undid the failed deploy on its own; the environment is Ready on the good version.
    mocks.eb.on(DescribeEnvironmentsCommand).resolves({
      Environments: [
        {
          ApplicationName: 'antenna',
          EnvironmentName: 'antenna-prod',
          Status: 'Ready',
          VersionLabel: OLD_LABEL,
        },
      ],
    });

    // Act
    const result = await rollBack(release());

    // Assert: "rolled back from v10 to v9", watched, nothing sent.
    expect(result).toMatchObject({ fromVersion: LABEL, toVersion: OLD_LABEL, redeployed: false });
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
  });
});
