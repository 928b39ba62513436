import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { deployVersion, getEnvironment } from '../aws/eb.js';
import { getTarget } from '../config/load.js';
import { DeployNotStarted, EnvironmentNotReady } from '../errors.js';
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
  let before: Awaited<ReturnType<typeof getEnvironment>>;
  try {
    before = await getEnvironment(eb, release);
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
  } catch (err) {
    throw notStarted(err);
  }
  let startedAt: string;
  try {
    ({ startedAt } = await deployVersion(eb, release, release.versionLabel));
  } catch (err) {
    // EB answered with an error: the update was not applied. Without an answer it may have been.
    if (!answeredByAws(err)) throw err;
    throw notStarted(err);
  }
  return {
    fromVersion: before.VersionLabel,
    toVersion: release.versionLabel,
    startedAt,
    firstPollSeconds: target.health.pollSeconds,
  };
}

// Retried by the state machine as they are; each is an answer from AWS, so nothing was applied.
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
]);

function notStarted(err: unknown): Error {
  if (err instanceof EnvironmentNotReady || THROTTLING.has((err as Error).name)) return err as Error;
  const e = err as Error;
  return new DeployNotStarted(`the environment was not changed: ${e.name}: ${e.message}`);
}

/** SDK service errors carry the HTTP status of AWS's answer; network errors and timeouts do not. */
function answeredByAws(err: unknown): boolean {
  return typeof (err as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode === 'number';
}
