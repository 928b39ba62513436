/** CreateAppVersion's polling decisions (lib/steps/create-app-version.ts). */
import {
  type ApplicationVersionStatus,
  CreateApplicationVersionCommand,
  DescribeApplicationVersionsCommand,
  DescribeEventsCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { VersionProcessingFailed } from '../../../lib/errors.js';
import { createOrCheckVersion, versionPollSeconds } from '../../../lib/steps/create-app-version.js';
import type { VersionResult } from '../../../lib/workflow-state.js';
import { bundle, ebReadyForVersion, LABEL, mocks, release } from '../functions/fixtures.js';

// EB API model, ApplicationVersionStatus: Processed | Unprocessed | Failed | Processing | Building.
const versionIs = (s: string) => ({
  ApplicationVersions: [
    { ApplicationName: 'antenna', VersionLabel: LABEL, Status: s as ApplicationVersionStatus },
  ],
});
/** The state after look number `polls`, on the real schedule of waits (1, 2, 3 … 10 s). */
const stateAfterLook = (polls: number): VersionResult => {
  let waitedSeconds = 0;
  for (let n = 0; n < polls; n++) waitedSeconds += versionPollSeconds(n);
  return {
    label: LABEL,
    reused: false,
    status: 'processing',
    polls,
    nextPollSeconds: versionPollSeconds(polls),
    waitedSeconds,
  };
};

beforeEach(ebReadyForVersion);

describe('CreateAppVersion', () => {
  it('waits through look 64 (595 s) and gives up at look 65 (10 minutes), saying nothing was deployed', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('Processing'));

    // Act
    const last = await createOrCheckVersion(release(), bundle, stateAfterLook(63));
    const late = createOrCheckVersion(release(), bundle, stateAfterLook(64));

    // Assert
    expect(last).toMatchObject({ status: 'processing', polls: 64, waitedSeconds: 595 });
    await expect(late).rejects.toThrow(VersionProcessingFailed);
    await expect(late).rejects.toThrow(
      `version ${LABEL} still processing after 10m 5s; nothing was deployed`,
    );
  });

  it.each(['Processed', 'Unprocessed'])('deploys a version EB reports %s, however late', async (s) => {
    // Arrange: Unprocessed is a version created without Process=true, usable as it is.
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs(s));

    // Act
    const result = await createOrCheckVersion(release(), bundle, stateAfterLook(64));

    // Assert
    expect(result).toMatchObject({ status: 'processed', polls: 65 });
  });

  it('takes a throttled or failed look as no data: same status, the next look 10-20 s later, no error', async () => {
    // Arrange: EB's throttling as the SDK raises it once its attempts are spent, then a 503.
    mocks.eb
      .on(DescribeApplicationVersionsCommand)
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }),
      )
      .rejectsOnce(
        Object.assign(new Error('unavailable'), {
          name: 'ServiceUnavailable',
          $metadata: { httpStatusCode: 503 },
        }),
      )
      .resolves(versionIs('Processed'));

    // Act
    const throttled = await createOrCheckVersion(release(), bundle, stateAfterLook(2), () => 0.5);
    const unavailable = await createOrCheckVersion(release(), bundle, throttled, () => 1);
    const answered = await createOrCheckVersion(release(), bundle, unavailable);

    // Assert
    expect(throttled).toMatchObject({ status: 'processing', polls: 3, nextPollSeconds: 15 });
    expect(unavailable).toMatchObject({ status: 'processing', polls: 4, nextPollSeconds: 20 });
    expect(answered).toMatchObject({ status: 'processed', polls: 5 });
  });

  it('still fails a look EB refuses for good (access denied is no passing failure)', async () => {
    mocks.eb.on(DescribeApplicationVersionsCommand).rejects(
      Object.assign(new Error('not authorized'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );

    await expect(createOrCheckVersion(release(), bundle, stateAfterLook(2))).rejects.toThrow(
      'not authorized',
    );
  });

  it('says the last look went unanswered when the 10 minutes run out on one', async () => {
    mocks.eb
      .on(DescribeApplicationVersionsCommand)
      .rejects(
        Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }),
      );

    await expect(createOrCheckVersion(release(), bundle, stateAfterLook(64))).rejects.toThrow(
      `version ${LABEL} still processing after 10m 5s (EB did not answer the last look: throttled or unavailable); nothing was deployed`,
    );
  });

  it('stops when the version vanished while EB processed it, without the failed-version advice', async () => {
    // Arrange: someone deleted it in the console.
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });

    // Act
    const run = createOrCheckVersion(release(), bundle, stateAfterLook(2));

    // Assert
    await expect(run).rejects.toThrow(
      `EB could not process version ${LABEL} (missing); nothing was deployed.`,
    );
    await expect(run).rejects.toThrow('EB gave no reason; check the bundle with `ebship plan`.');
    await expect(run).rejects.not.toThrow('delete-application-version');
  });

  it('ends the vanished-version message with the advice to check the bundle, and nothing after it', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });

    // Act
    const run = createOrCheckVersion(release(), bundle, stateAfterLook(2));

    // Assert
    await expect(run).rejects.toThrow(
      /\(missing\); nothing was deployed\. EB gave no reason; check the bundle with `ebship plan`\.$/,
    );
  });

  it('deploys a version EB lists without a status (the API model leaves ApplicationVersionDescription.Status optional)', async () => {
    // Arrange: no Status reads as Unprocessed, which EB validates at deploy time (usable).
    mocks.eb
      .on(DescribeApplicationVersionsCommand)
      .resolves({ ApplicationVersions: [{ ApplicationName: 'antenna', VersionLabel: LABEL }] });

    // Act
    const result = await createOrCheckVersion(release(), bundle, stateAfterLook(3));

    // Assert
    expect(result).toMatchObject({ status: 'processed', polls: 4 });
  });

  it('looks again when the CreateApplicationVersion answer carries no status', async () => {
    // Arrange
    mocks.eb
      .on(CreateApplicationVersionCommand)
      .resolves({ ApplicationVersion: { ApplicationName: 'antenna', VersionLabel: LABEL } });

    // Act
    const result = await createOrCheckVersion(release(), bundle);

    // Assert
    expect(result).toMatchObject({ status: 'processing', polls: 0, nextPollSeconds: 1, reused: false });
  });

  it('never creates the application: a misspelt application name fails instead of making a new one', async () => {
    // EB API, CreateApplicationVersion: AutoCreateApplication=true creates the application if it
    // does not exist; ebship's application must already exist (preflight checks it).
    // Act
    await createOrCheckVersion(release(), bundle);

    // Assert
    expect(mocks.eb).toHaveReceivedCommandWith(CreateApplicationVersionCommand, {
      ApplicationName: 'antenna',
      VersionLabel: LABEL,
      AutoCreateApplication: false,
      Process: true,
    });
  });

  it('tells how to recover from a failed version, which every retry of the image would reuse', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('Failed'));
    mocks.eb.on(DescribeEventsCommand).resolves({
      Events: [{ Message: 'first reason' }, { Message: '' }, { Message: 'second reason' }],
    });

    // Act
    const run = createOrCheckVersion(release(), bundle, stateAfterLook(2));

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
    const next = await createOrCheckVersion(release(), bundle, { ...stateAfterLook(0), reused: true });

    // Assert
    expect(first).toMatchObject({ polls: 0, reused: true, status: 'processed', nextPollSeconds: 1 });
    expect(next).toMatchObject({ polls: 1, reused: true });
  });
});
