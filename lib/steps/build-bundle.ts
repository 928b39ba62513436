import { dirname, resolve } from 'node:path';
import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { s3 } from '../aws/clients/s3.js';
import { s3CountStore } from '../aws/version-count-store.js';
import { readIncludeDir } from '../bundle/include.js';
import { renderBundle } from '../bundle/render.js';
import { bundleKey, uploadBundle } from '../bundle/upload.js';
import { zipBundle } from '../bundle/zip.js';
import { getTarget } from '../config/load.js';
import { PreflightFailed } from '../errors.js';
import { lintBundle } from '../preflight/bundle-rules.js';
import { inspectEnvironment } from '../preflight/environment.js';
import { formatFindings, hasErrors } from '../preflight/format.js';
import { cachedVersionCount } from '../preflight/version-count.js';
import { config, runtimeEnv } from '../runtime.js';
import { tableDescribeCache } from '../store/describe-cache.js';
import type { BundleResult, Release, SecretsResult } from '../workflow-state.js';

/**
 * Renders the bundle, runs the preflight checks on it and on the environment, and uploads it.
 * An error-level finding stops here, before CreateApplicationVersion.
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
  const counts = s3CountStore(s3, env.bundleBucket);
  const findings = [
    ...lintBundle(files, target),
    ...(await inspectEnvironment(eb, target, {
      versionCount: (count) => cachedVersionCount(counts, count),
      cache: tableDescribeCache(dynamo, env.tableName),
    })),
  ];
  if (hasErrors(findings)) {
    throw new PreflightFailed(
      `preflight checks failed for ${release.target}; nothing was deployed:\n${formatFindings(findings)}`,
    );
  }
  const key = bundleKey(target.application, release.versionLabel);
  const uploaded = await uploadBundle(s3, env.bundleBucket, key, zipBundle(files));
  return {
    bucket: env.bundleBucket,
    key,
    sha256: uploaded.sha256,
    bytes: uploaded.bytes,
    files: Object.keys(files).sort(),
    warnings: findings.map(
      (f) => `${f.ruleId}${f.file ? ` ${f.file}${f.line ? `:${f.line}` : ''}` : ''}: ${f.message}`,
    ),
  };
}
