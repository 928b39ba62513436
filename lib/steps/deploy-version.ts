import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { deployVersion, getEnvironment } from '../aws/eb.js';
import { getTarget } from '../config/load.js';
import { config, runtimeEnv } from '../runtime.js';
import { recordDeployment } from '../store/deployments.js';
import type { DeployResult, Release } from '../workflow-state.js';

/**
 * Records the deployment as running, then points the environment at the new version.
 * UpdateEnvironment is the last thing this step does: once EB has accepted it, nothing may fail
 * here, or the state machine would take the failed-before-deploy path (no health watch, no
 * rollback) for an environment that is in fact updating.
 */
export async function deployRelease(release: Release): Promise<DeployResult> {
  const target = getTarget(config(), release.target);
  const before = await getEnvironment(eb, release);
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
  const { startedAt } = await deployVersion(eb, release, release.versionLabel);
  return {
    fromVersion: before.VersionLabel,
    toVersion: release.versionLabel,
    startedAt,
    firstPollSeconds: target.health.pollSeconds,
  };
}
