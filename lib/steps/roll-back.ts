import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { deployVersion, getEnvironment } from '../aws/eb.js';
import { getTarget } from '../config/load.js';
import { EnvironmentNotReady, NoGoodVersion } from '../errors.js';
import { config, runtimeEnv } from '../runtime.js';
import { getLastGood } from '../store/deployments.js';
import type { Release, RollbackResult } from '../workflow-state.js';

/**
 * Redeploys the last version known to be good. The state machine reaches this at most once per
 * execution and verifies it with the same health watch. With no good version (first deploy), or
 * when the good version is the one that just failed, there is nothing safe to go back to.
 */
export async function rollBack(release: Release): Promise<RollbackResult> {
  const target = getTarget(config(), release.target);
  const good = await getLastGood(dynamo, runtimeEnv().tableName, release);
  if (!good) {
    throw new NoGoodVersion(
      `${release.target} has no version known to be good (first deploy through ebship); restore ${release.environment} by hand`,
    );
  }
  if (good.versionLabel === release.versionLabel) {
    throw new NoGoodVersion(
      `the last good version of ${release.target} is ${good.versionLabel}, the one that just failed; restore ${release.environment} by hand`,
    );
  }
  const env = await getEnvironment(eb, release);
  if (env.Status !== 'Ready') {
    throw new EnvironmentNotReady(
      `${release.environment} is ${env.Status}; waiting for Ready before rolling back to ${good.versionLabel}`,
    );
  }
  const { startedAt } = await deployVersion(eb, release, good.versionLabel);
  return {
    fromVersion: env.VersionLabel ?? release.versionLabel,
    toVersion: good.versionLabel,
    startedAt,
    firstPollSeconds: target.health.pollSeconds,
  };
}
