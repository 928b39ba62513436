import { eb } from '../aws/clients/eb.js';
import { ssm } from '../aws/clients/ssm.js';
import { instancesHealth } from '../aws/eb.js';
import { type ChecksContext, pollChecks, startChecks } from '../aws/post-deploy-checks.js';
import { checkDocumentFor, stackPrefix } from '../aws/run-command.js';
import { getTarget } from '../config/load.js';
import { config, runtimeEnv } from '../runtime.js';
import type { ChecksResult, DeployResult, Release } from '../workflow-state.js';

function contextOf(release: Release): ChecksContext {
  const prefix = stackPrefix(runtimeEnv().migrationDocumentName);
  return {
    environment: release.environment,
    versionLabel: release.versionLabel,
    checks: getTarget(config(), release.target).checks,
    documentOf: (check) => checkDocumentFor(prefix, release.target, check.name),
  };
}

/** Sends every check to its instances (healthy, on the new version). */
export async function startPostDeployChecks(release: Release, _deploy: DeployResult): Promise<ChecksResult> {
  // Only the instances are needed (DescribeInstancesHealth): one EB call, not a whole health look.
  return startChecks(ssm, await instancesHealth(eb, release.environment), contextOf(release));
}

export async function pollPostDeployChecks(release: Release, previous: ChecksResult): Promise<ChecksResult> {
  return pollChecks(ssm, previous, contextOf(release));
}
