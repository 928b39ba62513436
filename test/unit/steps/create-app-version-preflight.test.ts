/**
 * CreateAppVersion's preflight on the environment (lib/steps/create-app-version.ts): it runs before
 * CreateApplicationVersion on the first call only, an error stops the deploy before the version
 * exists, and the warnings go on with every later look. The region's version count is kept in the
 * table (real DynamoDB semantics through dynalite) and shared between deploys for 15 minutes.
 */
import {
  CreateApplicationVersionCommand,
  DescribeApplicationVersionsCommand,
  DescribeEnvironmentsCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { PreflightFailed } from '../../../lib/errors.js';
import { createOrCheckVersion } from '../../../lib/steps/create-app-version.js';
import { VERSION_COUNT_KEY } from '../../../lib/store/version-count.js';
import {
  bundle,
  db,
  ebReadyForVersion,
  environmentPassesPreflight,
  LABEL,
  mocks,
  release,
  TABLE,
  useFreshTable,
} from '../functions/fixtures.js';

useFreshTable();

beforeEach(ebReadyForVersion);

/** The region holds `count` versions, counted `ageSeconds` ago by another deploy. */
const keptCount = (count: number, ageSeconds: number) =>
  db.send(
    new PutCommand({
      TableName: TABLE,
      Item: {
        ...VERSION_COUNT_KEY,
        count,
        countedAt: new Date(Date.now() - ageSeconds * 1000).toISOString(),
      },
    }),
  );
const counted = () =>
  mocks.eb.commandCalls(DescribeApplicationVersionsCommand).filter((c) => !c.args[0].input.VersionLabels);

describe('CreateAppVersion preflight', () => {
  it('stops with PreflightFailed before the version exists when the environment runs the wrong platform', async () => {
    // Arrange: antenna-prod is an ECS target; this environment runs the Docker (compose) platform.
    environmentPassesPreflight({ SolutionStackName: '64bit Amazon Linux 2023 v4.3.0 running Docker' });

    // Act
    const run = createOrCheckVersion(release(), bundle);

    // Assert
    await expect(run).rejects.toThrow(PreflightFailed);
    await expect(run).rejects.toThrow('preflight checks failed for antenna-prod; nothing was deployed');
    await expect(run).rejects.toThrow('running Docker');
    expect(mocks.eb).not.toHaveReceivedCommand(CreateApplicationVersionCommand);
  });

  it('runs on the first call only: a later look neither reads the environment again nor forgets the warnings', async () => {
    // Arrange: 985 of 1,000 versions, counted a minute ago (a warning, without a file)
    await keptCount(985, 60);

    // Act
    const first = await createOrCheckVersion(release(), bundle);
    mocks.eb.on(DescribeApplicationVersionsCommand, { VersionLabels: [LABEL] }).resolves({
      ApplicationVersions: [{ ApplicationName: 'antenna', VersionLabel: LABEL, Status: 'Processing' }],
    });
    mocks.eb.resetHistory();
    const later = await createOrCheckVersion(release(), bundle, first);

    // Assert
    expect(first.warnings).toEqual([
      expect.stringMatching(
        /^version-quota-near: this region holds 985 of 1000 application versions \(counted 1m \d+s ago\)/,
      ),
    ]);
    expect(later.warnings).toEqual(first.warnings);
    expect(mocks.eb).not.toHaveReceivedCommand(DescribeEnvironmentsCommand);
  });

  describe("the region's version count", () => {
    it('is counted once and kept in the table for the next deploys', async () => {
      // Act
      await createOrCheckVersion(release(), bundle);

      // Assert
      expect(counted()).toHaveLength(1);
      const { Item } = await db.send(new GetCommand({ TableName: TABLE, Key: VERSION_COUNT_KEY }));
      expect(Item).toMatchObject({ count: 0, countedAt: expect.any(String), expiresAt: expect.any(Number) });
    });

    it('is not recounted while a deploy counted it in the last 15 minutes, and the finding says how old it is', async () => {
      // Arrange: 990 of 1000 counted 6 minutes ago
      await keptCount(990, 360);

      // Act
      const result = await createOrCheckVersion(release(), bundle);

      // Assert
      expect(counted()).toHaveLength(0);
      expect(result.warnings?.join('\n')).toMatch(
        /holds 990 of 1000 application versions \(counted 6m \d+s ago\)/,
      );
    });

    it('is counted again once the kept count is 15 minutes old, or unreadable', async () => {
      // Arrange
      await keptCount(990, 901);

      // Act
      const stale = await createOrCheckVersion(release(), bundle);
      await db.send(new PutCommand({ TableName: TABLE, Item: { ...VERSION_COUNT_KEY, count: 'many' } }));
      mocks.eb.resetHistory();
      const malformed = await createOrCheckVersion(release(), bundle);

      // Assert
      expect(stale.warnings ?? []).toEqual([]);
      expect(malformed.warnings ?? []).toEqual([]);
      expect(counted()).toHaveLength(1);
    });
  });
});
