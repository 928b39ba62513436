import { dynamo } from '../aws/clients/dynamo.js';
import { getTarget } from '../config/load.js';
import { config, runtimeEnv } from '../runtime.js';
import { recordDeployment } from '../store/deployments.js';
import type { DeployResult, Release } from '../workflow-state.js';
import { watchLimits } from './check-health.js';
import { startUpdateOnce } from './start-update.js';

/**
 * Records the deployment as running, then points the environment at the new version, at most once
 * per execution (lib/steps/start-update.ts). Once EB may have accepted the update, every path leads
 * to the health watch: an error here is "not started" only when EB's own answer or state proves it.
 */
export async function deployRelease(release: Release): Promise<DeployResult> {
  const target = getTarget(config(), release.target);
  const update = await startUpdateOnce(release, release.versionLabel, async (before) => {
    await recordDeployment(dynamo, runtimeEnv().tableName, {
      target: release.target,
      application: release.application,
      environment: release.environment,
      executionId: release.executionId,
      trigger: release.trigger,
      fromVersion: before.VersionLabel,
      toVersion: release.versionLabel,
      imageUri: release.imageUri,
      outcome: 'RUNNING',
      startedAt: release.startedAt,
    });
  });
  return {
    ...(update.fromVersion ? { fromVersion: update.fromVersion } : {}),
    toVersion: release.versionLabel,
    startedAt: update.startedAt,
    firstPollSeconds: target.health.pollSeconds,
    maxPolls: watchLimits(target.health).maxPolls,
  };
}
