import { DescribeImagesCommand } from '@aws-sdk/client-ecr';
import { DescribeApplicationVersionsCommand } from '@aws-sdk/client-elastic-beanstalk';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/resolve-release.js';
import { ImageNotFound, InputInvalid } from '../../../lib/errors.js';
import { listHistory, putLastGood } from '../../../lib/store/deployments.js';
import {
  ACCOUNT,
  awsError,
  DIGEST,
  db,
  ENV,
  EXECUTION,
  IMAGE_URI,
  LABEL,
  lambdaContext,
  mocks,
  OLD_DIGEST,
  OLD_LABEL,
  OTHER_EXECUTION,
  PUSHED,
  pushEvent,
  STARTED,
  STATE_MACHINE,
  TABLE,
  useConfigVariant,
  useFreshTable,
} from './fixtures.js';

const context = lambdaContext('ResolveRelease');

/** What the ResolveRelease state's Parameters build from the execution input and context object. */
function execution(input: unknown) {
  return { input, executionId: EXECUTION, startedAt: STARTED, stateMachineArn: STATE_MACHINE };
}

useFreshTable();

beforeEach(() => {
  mocks.ecr.reset();
  mocks.eb.reset();
  mocks.sfn.reset();
  mocks.ecr.on(DescribeImagesCommand).callsFake((input: { imageIds: { imageTag?: string }[] }) => {
    const id = input.imageIds[0];
    if (id?.imageTag && id.imageTag !== 'v10') throw awsError('ImageNotFoundException', 'image not found');
    return {
      imageDetails: [
        {
          registryId: ACCOUNT,
          repositoryName: 'antenna-backend',
          imageDigest: DIGEST,
          imageTags: ['v10'],
          imagePushedAt: new Date(PUSHED),
        },
      ],
    };
  });
  mocks.sfn
    .on(StartExecutionCommand)
    .resolves({ executionArn: `${STATE_MACHINE}:child`, startDate: new Date() });
});

describe('resolve-release handler: pushes', () => {
  it('turns an ECR push into a release pinned to the digest ECR reports', async () => {
    // Act
    const result = await handler(execution(pushEvent('v10', DIGEST)), context);

    // Assert
    expect(mocks.ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'antenna-backend',
      imageIds: [{ imageDigest: DIGEST }],
    });
    expect(result).toEqual({
      release: {
        target: 'antenna-prod',
        application: 'antenna',
        environment: 'antenna-prod',
        platform: 'ecs',
        repository: 'antenna-backend',
        imageTag: 'v10',
        imageDigest: DIGEST,
        imageUri: IMAGE_URI,
        imagePushedAt: new Date(PUSHED).toISOString(),
        versionLabel: LABEL,
        trigger: 'push',
        existingVersion: false,
        hasMigrationCheck: true,
        hasReleasePhase: true,
        hasChecks: true,
        executionId: EXECUTION,
        startedAt: STARTED,
      },
    });
    expect(mocks.sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it.each([
    ['a tag outside "v*"', pushEvent('main-7f5b264', DIGEST), 'does not match the tag pattern "v*"'],
    ['the ignored tag latest', pushEvent('latest', DIGEST), 'is an ignored tag'],
    [
      'a repository no target deploys',
      { ...pushEvent(), detail: { ...pushEvent().detail, 'repository-name': 'other-service' } },
      'no target deploys repository other-service',
    ],
  ])('ignores a push of %s without looking it up', async (_what, event, reason) => {
    // Act
    const result = await handler(execution(event), context);

    // Assert
    expect(result).toEqual({ ignored: { reason: expect.stringContaining(reason) } });
    expect(mocks.ecr).not.toHaveReceivedAnyCommand();
  });

  it("writes why a tag no pattern takes did not deploy to the history of the repository's targets", async () => {
    // Act
    await handler(execution(pushEvent('main-7f5b264', DIGEST)), context);

    // Assert
    expect((await listHistory(db, TABLE, ENV))[0]).toMatchObject({
      outcome: 'SKIPPED',
      toVersion: 'main-7f5b264',
      reason: expect.stringContaining('does not match the tag pattern "v*"'),
    });
  });

  it('fails an unknown tag with ImageNotFound that says how to find the right one', async () => {
    // Act
    const run = handler(execution({ target: 'antenna-prod', imageTag: 'v99' }), context);

    // Assert
    await expect(run).rejects.toThrow(ImageNotFound);
    await expect(run).rejects.toThrow(
      'tag "v99" is not in ECR repository antenna-backend; push it first or check the tag (aws ecr list-images --repository-name antenna-backend)',
    );
  });

  it('refuses a manual request whose tag and digest name different images', async () => {
    // Arrange: ECR knows the digest, but under another tag.
    mocks.ecr.on(DescribeImagesCommand).resolves({
      imageDetails: [
        {
          registryId: ACCOUNT,
          repositoryName: 'antenna-backend',
          imageDigest: OLD_DIGEST,
          imageTags: ['v9'],
          imagePushedAt: new Date(PUSHED),
        },
      ],
    });

    // Act
    const run = handler(
      execution({ target: 'antenna-prod', imageTag: 'v10', imageDigest: OLD_DIGEST }),
      context,
    );

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow(
      `${OLD_DIGEST} is not tagged "v10" in antenna-backend; give one or the other`,
    );
  });

  it('takes the tag from ECR for a manual request by digest, so the label names it', async () => {
    // Act
    const result = await handler(execution({ target: 'antenna-prod', imageDigest: DIGEST }), context);

    // Assert
    expect(result).toMatchObject({
      release: { imageTag: 'v10', versionLabel: LABEL, hasMigrationCheck: true },
    });
  });

  it('resolves a manual request for a tag to a manual release', async () => {
    // Act
    const result = await handler(execution({ target: 'antenna-prod', imageTag: 'v10' }), context);

    // Assert
    expect(result).toMatchObject({
      release: { trigger: 'manual', imageDigest: DIGEST, versionLabel: LABEL },
    });
  });
});

describe('resolve-release handler: a push that matches two targets', () => {
  let restore: () => void;
  beforeEach(() => {
    // Staging deploys every tag of the same repository; it is listed first, so this execution deploys it.
    restore = useConfigVariant((targets) => {
      const prod = targets['antenna-prod'] ?? {};
      const staging = {
        ...prod,
        environment: 'antenna-staging',
        source: { repository: 'antenna-backend', tags: '*' },
      };
      for (const name of Object.keys(targets)) delete targets[name];
      Object.assign(targets, { 'antenna-staging': staging, 'antenna-prod': prod });
    });
  });
  afterEach(() => restore());

  it('deploys the first target and starts one execution for the other, named from target and digest', async () => {
    // Act
    const result = await handler(execution(pushEvent('v10', DIGEST)), context);

    // Assert
    expect(result).toMatchObject({ release: { target: 'antenna-staging', environment: 'antenna-staging' } });
    expect(mocks.sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(mocks.sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE,
      name: 'antenna-prod-7f5b2640fe6f-push',
    });
    const input = mocks.sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}';
    expect(JSON.parse(input)).toEqual({
      target: 'antenna-prod',
      imageTag: 'v10',
      imageDigest: DIGEST,
      trigger: 'push',
    });
  });

  it('starts nothing twice: a redelivered event finds the fan-out execution already there', async () => {
    // Arrange: Step Functions refuses a second execution of the same name.
    await handler(execution(pushEvent('v10', DIGEST)), context);
    mocks.sfn
      .on(StartExecutionCommand)
      .rejects(
        awsError('ExecutionAlreadyExists', 'Execution Already Exists: antenna-prod-7f5b2640fe6f-push'),
      );

    // Act
    const again = await handler(execution(pushEvent('v10', DIGEST)), context);

    // Assert
    const names = mocks.sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name);
    expect(names).toEqual(['antenna-prod-7f5b2640fe6f-push', 'antenna-prod-7f5b2640fe6f-push']);
    expect(again).toMatchObject({ release: { target: 'antenna-staging' } });
  });

  it('fails the push when the execution for the other target cannot be started, so no target is silently skipped', async () => {
    // Arrange: any error but "already exists" (throttling, a missing permission) means the other target got nothing.
    mocks.sfn
      .on(StartExecutionCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: states:StartExecution', 400));

    // Act
    const run = handler(execution(pushEvent('v10', DIGEST)), context);

    // Assert
    await expect(run).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('resolve-release handler: rollback requests', () => {
  beforeEach(() => {
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves({
      ApplicationVersions: [
        {
          ApplicationName: 'antenna',
          VersionLabel: OLD_LABEL,
          Status: 'Processed',
          Description: `ebship antenna-backend:v9 ${OLD_DIGEST}`,
        },
      ],
    });
  });

  it('redeploys the last good version as an existing version, reading ECR only by digest for its push time', async () => {
    // Arrange
    await putLastGood(db, TABLE, ENV, {
      versionLabel: OLD_LABEL,
      imageDigest: OLD_DIGEST,
      deployedAt: '2026-11-20T08:10:00Z',
      executionId: OTHER_EXECUTION,
    });
    const OLD_PUSHED = '2026-11-20T08:00:00.000Z';
    mocks.ecr.on(DescribeImagesCommand, { imageIds: [{ imageDigest: OLD_DIGEST }] }).resolves({
      imageDetails: [
        {
          registryId: ACCOUNT,
          repositoryName: 'antenna-backend',
          imageDigest: OLD_DIGEST,
          imageTags: ['v9'],
          imagePushedAt: new Date(OLD_PUSHED),
        },
      ],
    });

    // Act
    const result = await handler(execution({ target: 'antenna-prod', trigger: 'rollback' }), context);

    // Assert
    expect(result).toMatchObject({
      release: {
        target: 'antenna-prod',
        versionLabel: OLD_LABEL,
        imageDigest: OLD_DIGEST,
        trigger: 'rollback',
        existingVersion: true,
        // Without it, a push of an image older than the rolled-back-to one would no longer count as a downgrade.
        imagePushedAt: OLD_PUSHED,
      },
    });
    expect(mocks.eb).toHaveReceivedCommandWith(DescribeApplicationVersionsCommand, {
      ApplicationName: 'antenna',
      VersionLabels: [OLD_LABEL],
    });
    // Only the digest is looked up (its push time keeps downgrade protection); never a tag.
    expect(mocks.ecr).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(mocks.ecr).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'antenna-backend',
      imageIds: [{ imageDigest: OLD_DIGEST }],
    });
  });

  it('names the rolled-back-to image by its digest, never with a made-up registry', async () => {
    // Act
    const result = await handler(execution({ target: 'antenna-prod', rollbackTo: OLD_LABEL }), context);

    // Assert: the version's description keeps the digest; the registry, if named, must be real.
    const uri = 'release' in result ? result.release.imageUri : '';
    expect(uri).toMatch(
      /^(\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/)?antenna-backend@sha256:[0-9a-f]{64}$/,
    );
    expect(uri.endsWith(OLD_DIGEST)).toBe(true);
  });

  it('names the image repository@digest when the rolled-back-to image is gone from ECR', async () => {
    // Arrange: ECR lifecycle rules may have expired it; EB still holds the version.
    mocks.ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 'image not found'));

    // Act
    const result = await handler(execution({ target: 'antenna-prod', rollbackTo: OLD_LABEL }), context);

    // Assert
    expect(result).toMatchObject({
      release: {
        imageUri: `antenna-backend@${OLD_DIGEST}`,
        imageDigest: OLD_DIGEST,
        imagePushedAt: undefined,
      },
    });
  });

  it('rolls back to the label a person names', async () => {
    // Act
    const result = await handler(execution({ target: 'antenna-prod', rollbackTo: OLD_LABEL }), context);

    // Assert
    expect(result).toMatchObject({ release: { versionLabel: OLD_LABEL, existingVersion: true } });
  });

  it('refuses a rollback with no known good version and says how to name one', async () => {
    // Act
    const run = handler(execution({ target: 'antenna-prod', trigger: 'rollback' }), context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('pass "rollbackTo" with a version label');
  });

  it('refuses a label EB does not have', async () => {
    // Arrange
    mocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });

    // Act
    const run = handler(execution({ target: 'antenna-prod', rollbackTo: 'v1-000000000000' }), context);

    // Assert
    await expect(run).rejects.toThrow('version "v1-000000000000" does not exist in EB application antenna');
  });
});

describe('resolve-release handler: input', () => {
  it('rejects a call without the execution identity with InputInvalid naming it', async () => {
    // Arrange
    const { executionId: _dropped, ...withoutId } = execution(pushEvent());

    // Act
    const run = handler(withoutId, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('executionId');
  });
});
