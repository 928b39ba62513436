/** CreateAppVersion's polling decisions (lib/steps/create-app-version.ts). */
import {
  type ApplicationVersionStatus,
  CreateApplicationVersionCommand,
  DescribeApplicationVersionsCommand,
  DescribeEventsCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { VersionProcessingFailed } from '../../../lib/errors.js';
import { createOrCheckVersion } from '../../../lib/steps/create-app-version.js';
import type { VersionResult } from '../../../lib/workflow-state.js';
import { bundle, LABEL, mocks, release } from '../functions/fixtures.js';

// EB API model, ApplicationVersionStatus: Processed | Unprocessed | Failed | Processing | Building.
const versionIs = (s: string) => ({
  ApplicationVersions: [
    { ApplicationName: 'antenna', VersionLabel: LABEL, Status: s as ApplicationVersionStatus },
  ],
});
const polledTimes = (polls: number): VersionResult => ({
  label: LABEL,
  reused: false,
  status: 'processing',
  polls,
  nextPollSeconds: 5,
});

beforeEach(() => {
  mocks.eb.reset();
  mocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });
  mocks.eb.on(CreateApplicationVersionCommand).resolves({
    ApplicationVersion: { ApplicationName: 'antenna', VersionLabel: LABEL, Status: 'Processing' },
  });
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
});

describe('CreateAppVersion', () => {
  it('waits through poll 119 and gives up at poll 120 (10 minutes), saying nothing was deployed', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('Processing'));

    // Act
    const last = await createOrCheckVersion(release(), bundle, polledTimes(118));
    const late = createOrCheckVersion(release(), bundle, polledTimes(119));

    // Assert
    expect(last).toMatchObject({ status: 'processing', polls: 119 });
    await expect(late).rejects.toThrow(VersionProcessingFailed);
    await expect(late).rejects.toThrow(`version ${LABEL} still processing after 600s; nothing was deployed`);
  });

  it.each(['Processed', 'Unprocessed'])('deploys a version EB reports %s, however late', async (s) => {
    // Arrange: Unprocessed is a version created without Process=true, usable as it is.
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs(s));

    // Act
    const result = await createOrCheckVersion(release(), bundle, polledTimes(119));

    // Assert
    expect(result).toMatchObject({ status: 'processed', polls: 120 });
  });

  it('stops when the version vanished while EB processed it, without the failed-version advice', async () => {
    // Arrange: someone deleted it in the console.
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });

    // Act
    const run = createOrCheckVersion(release(), bundle, polledTimes(2));

    // Assert
    await expect(run).rejects.toThrow(
      `EB could not process version ${LABEL} (missing); nothing was deployed.`,
    );
    await expect(run).rejects.toThrow('EB gave no reason; check the bundle with `ebship plan`.');
    await expect(run).rejects.not.toThrow('delete-application-version');
  });

  it('tells how to recover from a failed version, which every retry of the image would reuse', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('Failed'));
    mocks.eb.on(DescribeEventsCommand).resolves({
      Events: [{ Message: 'first reason' }, { Message: '' }, { Message: 'second reason' }],
    });

    // Act
    const run = createOrCheckVersion(release(), bundle, polledTimes(2));

    // Assert
    await expect(run).rejects.toThrow('EB said: first reason | second reason');
    await expect(run).rejects.toThrow(
      `aws elasticbeanstalk delete-application-version --application-name antenna --version-label ${LABEL}`,
    );
  });

  it('counts the first call as poll 0 and keeps "reused" from it', async () => {
    // Arrange: the label already exists (a redeploy of the same image).
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('Processed'));

    // Act
    const first = await createOrCheckVersion(release(), bundle);
    const next = await createOrCheckVersion(release(), bundle, { ...polledTimes(0), reused: true });

    // Assert
    expect(first).toMatchObject({ polls: 0, reused: true, status: 'processed', nextPollSeconds: 5 });
    expect(next).toMatchObject({ polls: 1, reused: true });
  });
});
