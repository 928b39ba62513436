import { createHash } from 'node:crypto';
import {
  DescribeAccountAttributesCommand,
  DescribeApplicationsCommand,
  DescribeApplicationVersionsCommand,
  DescribeConfigurationSettingsCommand,
  DescribeEnvironmentsCommand,
} from '@aws-sdk/client-elastic-beanstalk';
import { GetObjectCommand, NoSuchKey, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { handler } from '../../../functions/build-bundle.js';
import { listZip } from '../../../lib/bundle/zip.js';
import { InputInvalid, PreflightFailed } from '../../../lib/errors.js';
import {
  BUCKET,
  IMAGE_URI,
  LABEL,
  lambdaContext,
  lock,
  mocks,
  pushEvent,
  release,
  secrets,
} from './fixtures.js';

const context = lambdaContext('BuildBundle');
const ECS_STACK = '64bit Amazon Linux 2023 v4.4.0 running ECS';

function environmentOn(solutionStack: string) {
  return {
    Environments: [
      {
        ApplicationName: 'antenna',
        EnvironmentName: 'antenna-prod',
        Status: 'Ready' as const,
        SolutionStackName: solutionStack,
      },
    ],
  };
}

/** The bundle upload (the bucket also keeps the region's version count). */
const bundlePut = () =>
  mocks.s3.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key?.startsWith('bundles/'));

/** The zip ebship put in the bundle bucket, as path → text. */
function uploadedFiles(): Record<string, string> {
  const body = bundlePut()?.args[0].input.Body;
  if (!(body instanceof Uint8Array)) throw new Error('no bundle was uploaded');
  return listZip(body);
}

beforeEach(() => {
  mocks.eb.reset();
  mocks.s3.reset();
  mocks.eb.on(DescribeEnvironmentsCommand).resolves(environmentOn(ECS_STACK));
  mocks.eb.on(DescribeConfigurationSettingsCommand).resolves({
    ConfigurationSettings: [
      {
        OptionSettings: [
          {
            Namespace: 'aws:elasticbeanstalk:healthreporting:system',
            OptionName: 'SystemType',
            Value: 'enhanced',
          },
        ],
      },
    ],
  });
  mocks.eb
    .on(DescribeAccountAttributesCommand)
    .resolves({ ResourceQuotas: { ApplicationVersionQuota: { Maximum: 1000 } } });
  mocks.eb.on(DescribeApplicationVersionsCommand).resolves({ ApplicationVersions: [] });
  mocks.eb.on(DescribeApplicationsCommand).resolves({ Applications: [{ ApplicationName: 'antenna' }] });
  mocks.s3.on(PutObjectCommand).resolves({});
  mocks.s3
    .on(GetObjectCommand)
    .rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));
});

const state = () => ({ input: pushEvent(), release: release(), lock, secrets });

describe('build-bundle handler', () => {
  it('uploads the bundle to the bundle bucket under bundles/<application>/<label>.zip', async () => {
    // Act
    const result = await handler(state(), context);

    // Assert
    const key = `bundles/antenna/${LABEL}.zip`;
    expect(mocks.s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: key,
      ContentType: 'application/zip',
    });
    const body = bundlePut()?.args[0].input.Body as Uint8Array;
    expect(result).toEqual({
      bucket: BUCKET,
      key,
      sha256: createHash('sha256').update(body).digest('hex'),
      bytes: body.byteLength,
      files: ['.ebextensions/00-ebship.config', 'Dockerrun.aws.json'],
      warnings: expect.any(Array),
    });
  });

  it('pins every container that runs the pushed image to its digest in Dockerrun.aws.json', async () => {
    // Act
    await handler(state(), context);

    // Assert
    const dockerrun = JSON.parse(uploadedFiles()['Dockerrun.aws.json'] ?? '{}') as {
      AWSEBDockerrunVersion: number;
      containerDefinitions: { name: string; image: string }[];
    };
    expect(dockerrun.AWSEBDockerrunVersion).toBe(2);
    const images = Object.fromEntries(dockerrun.containerDefinitions.map((c) => [c.name, c.image]));
    expect(images).toMatchObject({
      django: IMAGE_URI,
      celeryworker: IMAGE_URI,
      celerybeat: IMAGE_URI,
      flower: IMAGE_URI,
    });
    expect(images.awscli).toMatch(/antenna-awscli@sha256:4b2c2d1f/);
  });

  it('has EB inject each secret from its ARN and label the instances with the version', async () => {
    // Act
    await handler(state(), context);

    // Assert
    const ebextension = uploadedFiles()['.ebextensions/00-ebship.config'] ?? '';
    const options = parse(ebextension).option_settings as Record<string, Record<string, string>>;
    expect(options['aws:elasticbeanstalk:application:environmentsecrets']).toEqual(secrets.arns);
    expect(options['aws:elasticbeanstalk:application:environment']).toMatchObject({
      EBSHIP_VERSION_LABEL: LABEL,
      DJANGO_SETTINGS_MODULE: 'config.settings.production',
    });
  });

  it('stops with PreflightFailed before uploading when the environment runs the wrong platform', async () => {
    // Arrange: antenna-prod is an ECS target; this environment runs the Docker (compose) platform.
    mocks.eb
      .on(DescribeEnvironmentsCommand)
      .resolves(environmentOn('64bit Amazon Linux 2023 v4.3.0 running Docker'));

    // Act
    const run = handler(state(), context);

    // Assert
    await expect(run).rejects.toThrow(PreflightFailed);
    await expect(run).rejects.toThrow('preflight checks failed for antenna-prod; nothing was deployed');
    await expect(run).rejects.toThrow('running Docker');
    expect(bundlePut()).toBeUndefined();
  });

  describe("the region's version count", () => {
    const countObject = (count: number, countedAt: string) => ({
      Body: { transformToString: async () => JSON.stringify({ count, countedAt }) },
    });

    it('is counted once and kept in the bundle bucket for the next deploys', async () => {
      // Act
      await handler(state(), context);

      // Assert
      expect(mocks.eb).toHaveReceivedCommand(DescribeApplicationVersionsCommand);
      const kept = mocks.s3
        .commandCalls(PutObjectCommand)
        .find((c) => c.args[0].input.Key === 'ebship/version-count.json');
      expect(JSON.parse(String(kept?.args[0].input.Body))).toEqual({
        count: 0,
        countedAt: expect.any(String),
      });
    });

    it('is not recounted while a deploy counted it in the last 15 minutes, and the finding says how old it is', async () => {
      // Arrange: 990 of 1000 counted 6 minutes ago
      const sixMinutesAgo = new Date(Date.now() - 360_000).toISOString();
      mocks.s3.on(GetObjectCommand).resolves(countObject(990, sixMinutesAgo) as never);

      // Act
      const result = await handler(state(), context);

      // Assert
      expect(mocks.eb).not.toHaveReceivedCommand(DescribeApplicationVersionsCommand);
      expect(result.warnings.join('\n')).toMatch(
        /holds 990 of 1000 application versions \(counted 6m \d+s ago\)/,
      );
    });

    it('never stops a deploy: an unreadable or unwritable count only means counting again', async () => {
      // Arrange
      const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
      mocks.s3.on(GetObjectCommand).rejects(denied);
      mocks.s3.on(PutObjectCommand, { Key: 'ebship/version-count.json' }).rejects(denied);

      // Act
      const result = await handler(state(), context);

      // Assert
      expect(mocks.eb).toHaveReceivedCommand(DescribeApplicationVersionsCommand);
      expect(result.key).toBe(`bundles/antenna/${LABEL}.zip`);
      expect(bundlePut()).toBeDefined();
    });

    it('is counted again once the kept count is 15 minutes old', async () => {
      // Arrange
      const old = new Date(Date.now() - 901_000).toISOString();
      mocks.s3.on(GetObjectCommand).resolves(countObject(990, old) as never);

      // Act
      const result = await handler(state(), context);

      // Assert
      expect(mocks.eb).toHaveReceivedCommand(DescribeApplicationVersionsCommand);
      expect(result.warnings.join('\n')).not.toContain('application versions');
    });
  });

  it('rejects a state without the secrets step result with InputInvalid naming it', async () => {
    // Act
    const run = handler({ input: pushEvent(), release: release(), lock }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "secrets"');
    expect(mocks.s3).not.toHaveReceivedAnyCommand();
    expect(mocks.eb).not.toHaveReceivedAnyCommand();
  });
});
