import {
  type ApplicationVersionStatus,
  CreateApplicationVersionCommand,
  DescribeApplicationVersionsCommand,
  DescribeEventsCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/create-app-version.js';
import { InputInvalid, VersionProcessingFailed } from '../../../lib/errors.js';
import {
  BUCKET,
  bundle,
  DIGEST,
  environmentPassesPreflight,
  LABEL,
  lambdaContext,
  lock,
  mocks,
  pushEvent,
  release,
  secrets,
} from './fixtures.js';

const context = lambdaContext('CreateAppVersion');
// The EB API model (ApplicationVersionStatus in botocore's elasticbeanstalk service-2.json) lists the
// statuses capitalised; ebship compares them case-insensitively, and these tests feed both spellings.
const status = (s: string) => s as ApplicationVersionStatus;
const versionIs = (s: string) => ({
  ApplicationVersions: [{ ApplicationName: 'antenna', VersionLabel: LABEL, Status: status(s) }],
});

const firstCall = () => ({ input: pushEvent(), release: release(), lock, secrets, bundle });
const laterCall = (polls: number, waitedSeconds = 0, nextPollSeconds = 1) => ({
  ...firstCall(),
  version: { label: LABEL, reused: false, status: 'processing', polls, nextPollSeconds, waitedSeconds },
});

beforeEach(() => {
  mocks.eb.reset();
  environmentPassesPreflight();
  mocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });
  mocks.eb.on(CreateApplicationVersionCommand).resolves({
    ApplicationVersion: { ApplicationName: 'antenna', VersionLabel: LABEL, Status: status('PROCESSING') },
  });
  mocks.eb.on(DescribeEventsCommand).resolves({ Events: [] });
});

describe('create-app-version handler', () => {
  it('creates the version from the uploaded bundle with Process=true, so EB validates it first', async () => {
    // Act
    const result = await handler(firstCall(), context);

    // Assert
    expect(mocks.eb).toHaveReceivedCommandWith(CreateApplicationVersionCommand, {
      ApplicationName: 'antenna',
      VersionLabel: LABEL,
      Description: `ebship antenna-backend:v10 ${DIGEST}`,
      SourceBundle: { S3Bucket: BUCKET, S3Key: `bundles/antenna/${LABEL}.zip` },
      Process: true,
    });
    expect(result).toEqual({
      label: LABEL,
      reused: false,
      status: 'processing',
      polls: 0,
      nextPollSeconds: 1,
      waitedSeconds: 0,
    });
  });

  it('polls the version on the next call instead of creating it again', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('PROCESSED'));

    // Act
    const result = await handler(laterCall(1), context);

    // Assert
    expect(mocks.eb).not.toHaveReceivedCommand(CreateApplicationVersionCommand);
    expect(mocks.eb).toHaveReceivedCommandWith(DescribeApplicationVersionsCommand, {
      ApplicationName: 'antenna',
      VersionLabels: [LABEL],
    });
    expect(result).toMatchObject({ status: 'processed', polls: 2 });
  });

  it('keeps waiting while EB is still processing, looking soon at first and then less often', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('Processing'));

    // Act: thirteen looks
    const waits: number[] = [];
    let version = (await handler(firstCall(), context)) as { nextPollSeconds: number };
    for (let look = 0; look < 12; look++) {
      waits.push(version.nextPollSeconds);
      version = (await handler({ ...firstCall(), version }, context)) as { nextPollSeconds: number };
    }

    // Assert: a version EB processes in a second deploys a second later; a slow one costs few polls
    expect(waits).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 10]);
    expect(version).toMatchObject({ status: 'processing', polls: 12, waitedSeconds: 75 });
  });

  it('gives up after 10 minutes of processing with nothing deployed', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('Processing'));

    // Act: 595 s waited before this look, and its own wait makes 605
    const stillProcessing = await handler(laterCall(60, 585, 10), context);
    const run = handler(laterCall(61, 595, 10), context);

    // Assert
    expect(stillProcessing).toMatchObject({ status: 'processing', waitedSeconds: 595 });
    await expect(run).rejects.toThrow(VersionProcessingFailed);
    await expect(run).rejects.toThrow(`version ${LABEL} still processing after 10m 5s; nothing was deployed`);
  });

  it("fails with VersionProcessingFailed quoting EB's event when EB cannot process the bundle", async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('FAILED'));
    mocks.eb.on(DescribeEventsCommand).resolves({
      Events: [
        {
          Severity: 'ERROR',
          Message: 'The configuration file .ebextensions/00-ebship.config contains invalid YAML.',
        },
      ],
    });

    // Act
    const run = handler(laterCall(1), context);

    // Assert
    await expect(run).rejects.toThrow(VersionProcessingFailed);
    await expect(run).rejects.toThrow(
      `EB could not process version ${LABEL} (failed); nothing was deployed. EB said: The configuration file .ebextensions/00-ebship.config contains invalid YAML.`,
    );
    expect(mocks.eb).toHaveReceivedCommandWith(DescribeEventsCommand, {
      ApplicationName: 'antenna',
      VersionLabel: LABEL,
    });
  });

  it('reuses a version that already exists under the label (same label, same image)', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves(versionIs('Processed'));

    // Act
    const result = await handler(firstCall(), context);

    // Assert
    expect(mocks.eb).not.toHaveReceivedCommand(CreateApplicationVersionCommand);
    expect(result).toEqual({
      label: LABEL,
      reused: true,
      status: 'processed',
      polls: 0,
      nextPollSeconds: 1,
      waitedSeconds: 0,
    });
  });

  it('rejects a state without the bundle step result with InputInvalid naming it', async () => {
    // Act
    const run = handler({ input: pushEvent(), release: release(), lock, secrets }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "bundle"');
    expect(mocks.eb).not.toHaveReceivedAnyCommand();
  });
});
