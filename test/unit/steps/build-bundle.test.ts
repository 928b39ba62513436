/**
 * BuildBundle (lib/steps/build-bundle.ts): the target's own include directory, found where the
 * Lambda finds ebship.yml, goes into the bundle and through the bundle's preflight rules; findings
 * the deploy carries on name their rule, file and line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listZip } from '../../../lib/bundle/zip.js';
import { PreflightFailed } from '../../../lib/errors.js';
import { buildBundle } from '../../../lib/steps/build-bundle.js';
import { s3 } from '../../support/aws-env.js';
import { mocks, release, secrets, useConfigVariant } from '../functions/fixtures.js';

const INCLUDE = 'eb/antenna';
/** A value shaped like a Django secret key: it must never reach the bundle bucket or the alert. */
const CANARY = 'canary-5ecret-9f8e7d6c5b4a39281706';

let restore: (() => void) | undefined;
let savedTaskRoot: string | undefined;

beforeEach(() => {
  savedTaskRoot = process.env.LAMBDA_TASK_ROOT;
  mocks.eb.reset();
  s3.reset();
});

afterEach(() => {
  restore?.();
  restore = undefined;
  if (savedTaskRoot === undefined) delete process.env.LAMBDA_TASK_ROOT;
  else process.env.LAMBDA_TASK_ROOT = savedTaskRoot;
});

/** ebship.yml with `include: eb/antenna` on antenna-prod, in a temporary directory; returns it. */
function configWithInclude(files: Record<string, string>): string {
  restore = useConfigVariant((targets) => {
    const target = targets['antenna-prod'];
    if (target) target.include = INCLUDE;
  });
  const configDir = dirname(process.env.EBSHIP_CONFIG ?? '');
  for (const [path, text] of Object.entries(files)) {
    const file = join(configDir, INCLUDE, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
  return configDir;
}

/** The zip put under bundles/, as path → text. */
function uploadedBundle(): Record<string, string> | undefined {
  const key = s3.keys().find((k) => k.startsWith('bundles/'));
  const body = key ? s3.object(key)?.body : undefined;
  return body ? listZip(body) : undefined;
}

const APP_CONFIG = [
  'option_settings:',
  '  aws:elasticbeanstalk:application:environment:',
  '    WEB_CONCURRENCY: "3"',
  '',
].join('\n');

describe('BuildBundle with an include directory', () => {
  it('adds the files of the include directory next to ebship.yml to the uploaded bundle', async () => {
    // Arrange
    configWithInclude({ '.ebextensions/50-app.config': APP_CONFIG });

    // Act
    const result = await buildBundle(release(), secrets);

    // Assert: the file list the execution's state shows is in name order.
    expect(result.files).toEqual([
      '.ebextensions/00-ebship.config',
      '.ebextensions/50-app.config',
      'Dockerrun.aws.json',
    ]);
    expect(uploadedBundle()?.['.ebextensions/50-app.config']).toBe(APP_CONFIG);
  });

  it('finds the include directory under LAMBDA_TASK_ROOT when EBSHIP_CONFIG is relative, as in the Lambda', async () => {
    // Arrange: serverless.yml sets EBSHIP_CONFIG=ebship.yml; the file sits in the task root.
    const root = configWithInclude({ '.ebextensions/50-app.config': APP_CONFIG });
    process.env.LAMBDA_TASK_ROOT = dirname(root);
    process.env.EBSHIP_CONFIG = join(root.slice(dirname(root).length + 1), 'ebship.yml');

    // Act
    const result = await buildBundle(release(), secrets);

    // Assert
    expect(result.files).toContain('.ebextensions/50-app.config');
  });

  it('stops before uploading when an included file sets a secret in plain text, without quoting it', async () => {
    // Arrange
    configWithInclude({
      '.ebextensions/50-app.config': [
        'option_settings:',
        '  aws:elasticbeanstalk:application:environment:',
        `    DJANGO_SECRET_KEY: "${CANARY}"`,
        '',
      ].join('\n'),
    });

    // Act
    const run = buildBundle(release(), secrets);

    // Assert
    await expect(run).rejects.toThrow(PreflightFailed);
    await expect(run).rejects.toThrow('[plaintext-secret]');
    await expect(run).rejects.not.toThrow(CANARY);
    expect(uploadedBundle()).toBeUndefined();
  });

  it('carries each warning on as "<rule> <file>:<line>: <message>", or without the line it lacks', async () => {
    // Arrange: a hook written where Amazon Linux 2+ never runs it (line 2), and an ignored file.
    configWithInclude({
      '.ebextensions/50-app.config': [
        'files:',
        '  /opt/elasticbeanstalk/hooks/appdeploy/pre/01.sh:',
        '    mode: "000755"',
        '    content: |',
        '      #!/bin/bash',
        '      set -e',
        '      echo hi',
        '',
      ].join('\n'),
      '.ebextensions/notes.txt': 'not a config file\n',
    });

    // Act
    const result = await buildBundle(release(), secrets);

    // Assert
    expect(result.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^legacy-platform-hook \.ebextensions\/50-app\.config:2: writes a hook to /),
        expect.stringMatching(/^ebextensions-ignored-file \.ebextensions\/notes\.txt: EB only reads /),
      ]),
    );
  });
});
