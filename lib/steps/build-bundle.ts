import { dirname, resolve } from 'node:path';
import { readIncludeDir } from '../bundle/include.js';
import { renderBundle } from '../bundle/render.js';
import { bundleKey, uploadBundle } from '../bundle/upload.js';
import { zipBundle } from '../bundle/zip.js';
import { getTarget } from '../config/load.js';
import { lintBundle } from '../preflight/bundle-rules.js';
import { warningsOrStop } from '../preflight/format.js';
import { config, runtimeEnv } from '../runtime.js';
import type { BundleResult, Release, SecretsResult } from '../workflow-state.js';

/**
 * Renders the bundle, runs the preflight rules on its files, and uploads it. An error-level finding
 * stops here, before anything is uploaded.
 */
export async function buildBundle(release: Release, secrets: SecretsResult): Promise<BundleResult> {
  const target = getTarget(config(), release.target);
  const env = runtimeEnv();
  const includeFiles = target.include
    ? readIncludeDir(
        resolve(
          process.env.LAMBDA_TASK_ROOT ?? process.cwd(),
          dirname(process.env.EBSHIP_CONFIG ?? 'ebship.yml'),
          target.include,
        ),
      )
    : undefined;
  const files = renderBundle({
    target,
    imageUri: release.imageUri,
    versionLabel: release.versionLabel,
    secretArns: secrets.arns,
    includeFiles,
  });
  // The bundle's own rules; the environment's (platform, health reporting, version quota) run in
  // CreateAppVersion, before the version is created (lib/steps/create-app-version.ts).
  const warnings = warningsOrStop(lintBundle(files, target), release.target);
  const key = bundleKey(target.application, release.versionLabel);
  const uploaded = await uploadBundle(env.bundleBucket, key, zipBundle(files));
  return {
    bucket: env.bundleBucket,
    key,
    sha256: uploaded.sha256,
    bytes: uploaded.bytes,
    files: Object.keys(files).sort(),
    warnings,
  };
}
