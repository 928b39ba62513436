import { createHash } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { handler } from '../../../functions/build-bundle.js';
import { listZip } from '../../../lib/bundle/zip.js';
import { InputInvalid } from '../../../lib/errors.js';
import { s3 } from '../../support/aws-env.js';
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
/** The bundle in the bucket (S3 here is the stand-in's, over the wire). */
const bundlePut = () => s3.object(`bundles/antenna/${LABEL}.zip`);

/** The zip ebship put in the bundle bucket, as path → text. */
function uploadedFiles(): Record<string, string> {
  const body = bundlePut()?.body;
  if (!body) throw new Error('no bundle was uploaded');
  return listZip(body);
}

beforeEach(() => {
  mocks.eb.reset();
  s3.reset();
});

const state = () => ({ input: pushEvent(), release: release(), lock, secrets });

describe('build-bundle handler', () => {
  it('uploads the bundle to the bundle bucket under bundles/<application>/<label>.zip', async () => {
    // Act
    const result = await handler(state(), context);

    // Assert
    const key = `bundles/antenna/${LABEL}.zip`;
    expect(s3.keys()).toEqual([key]);
    expect(bundlePut()?.contentType).toBe('application/zip');
    const body = bundlePut()?.body ?? Buffer.alloc(0);
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

  it('rejects a state without the secrets step result with InputInvalid naming it', async () => {
    // Act
    const run = handler({ input: pushEvent(), release: release(), lock }, context);

    // Assert
    await expect(run).rejects.toThrow(InputInvalid);
    await expect(run).rejects.toThrow('state has no "secrets"');
    expect(s3.requests).toEqual([]);
    expect(mocks.eb).not.toHaveReceivedAnyCommand();
  });
});
