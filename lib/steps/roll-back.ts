import { dynamo } from '../aws/clients/dynamo.js';
import { getTarget } from '../config/load.js';
import { NoGoodVersion } from '../errors.js';
import { config, runtimeEnv } from '../runtime.js';
import { getLastGood } from '../store/deployments.js';
import type { Release, RollbackResult } from '../workflow-state.js';
import { watchLimits } from './check-health.js';
import { startUpdateOnce } from './start-update.js';

/**
 * Redeploys the last version known to be good. The state machine reaches this at most once per
 * execution and verifies it with the same health watch. With no good version (first deploy), or
 * when the good version is the one that just failed, there is nothing safe to go back to. When EB
 * already reverted to the good version by itself, nothing is redeployed: the watch verifies it.
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
  const update = await startUpdateOnce(release, good.versionLabel);
  return {
    fromVersion: update.fromVersion ?? release.versionLabel,
    toVersion: good.versionLabel,
    startedAt: update.startedAt,
    firstPollSeconds: target.health.pollSeconds,
    maxPolls: watchLimits(target.health).maxPolls,
    ...(update.how === 'already-on-label' ? { redeployed: false } : {}),
  };
}
