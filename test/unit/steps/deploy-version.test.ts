/**
 * DeployVersion (lib/steps/deploy-version.ts) against an account with more than one environment:
 * the step reads the state of the environment it deploys to, never another one's.
 */
import {
  DescribeEnvironmentsCommand,
  type DescribeEnvironmentsCommandInput,
  DescribeEventsCommand,
  type EnvironmentDescription,
  UpdateEnvironmentCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentNotReady } from '../../../lib/errors.js';
import { deployRelease } from '../../../lib/steps/deploy-version.js';
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

/** Every environment of the account and region, in the order EB lists them. */
const ACCOUNT_ENVIRONMENTS: EnvironmentDescription[] = [
  // Staging of the same application: Ready, so an update there would be allowed.
  {
    ApplicationName: 'antenna',
    EnvironmentName: 'antenna-staging',
    Status: 'Ready',
    VersionLabel: OLD_LABEL,
  },
  // An earlier antenna-prod, terminated: DescribeEnvironments lists it unless IncludeDeleted=false.
  {
    ApplicationName: 'antenna',
    EnvironmentName: 'antenna-prod',
    Status: 'Terminated',
    VersionLabel: 'v1-old',
  },
  // Another application's environment.
  { ApplicationName: 'billing', EnvironmentName: 'billing-prod', Status: 'Ready', VersionLabel: 'b7' },
  // The target: someone else's update is running on it.
  {
    ApplicationName: 'antenna',
    EnvironmentName: 'antenna-prod',
    Status: 'Updating',
    VersionLabel: 'v8-manual',
  },
];

/**
 * DescribeEnvironments as EB answers it (EB API reference, DescribeEnvironments: ApplicationName
 * and EnvironmentNames, "if specified", restrict the descriptions returned; IncludeDeleted=false
 * leaves out deleted environments).
 */
function describeEnvironments(input: DescribeEnvironmentsCommandInput) {
  return {
    Environments: ACCOUNT_ENVIRONMENTS.filter(
      (e) =>
        (input.ApplicationName === undefined || e.ApplicationName === input.ApplicationName) &&
        (!input.EnvironmentNames?.length || input.EnvironmentNames.includes(e.EnvironmentName ?? '')) &&
        (input.IncludeDeleted !== false || e.Status !== 'Terminated'),
    ),
  };
}

useFreshTable();

beforeEach(async () => {
  await acquireLock(db, TABLE, ENV, {
    owner: EXECUTION,
    versionLabel: LABEL,
    imageDigest: 'sha256:x',
    leaseSeconds: 10_800,
    now: new Date(),
  });
  mocks.eb.reset();
  mocks.eb.on(DescribeEnvironmentsCommand).callsFake(describeEnvironments);
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
  mocks.eb.on(UpdateEnvironmentCommand).resolves({ Status: 'Updating', DateUpdated: new Date() });
});

describe('DeployVersion in an account with several environments', () => {
  it('waits for its own environment, busy with another update, though a sibling environment is Ready', async () => {
    // Act
    const run = deployRelease(release());

    // Assert
    await expect(run).rejects.toThrow(EnvironmentNotReady);
    await expect(run).rejects.toThrow(`antenna-prod is Updating on v8-manual; another update is in progress`);
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
  });

  it('never takes a sibling environment already on the good version for its own rollback having happened', async () => {
    // Arrange
    await putLastGood(db, TABLE, ENV, {
      versionLabel: OLD_LABEL,
      imageDigest: OLD_DIGEST,
      deployedAt: '2026-11-20T08:10:00.000Z',
      executionId: OTHER_EXECUTION,
    });

    // Act
    const run = rollBack(release());

    // Assert: antenna-staging runs OLD_LABEL, but antenna-prod is still busy: wait, then redeploy.
    await expect(run).rejects.toThrow(EnvironmentNotReady);
    expect(mocks.eb).not.toHaveReceivedCommand(UpdateEnvironmentCommand);
  });
});
