import { eb } from '../aws/clients/eb.js';
import { ssm } from '../aws/clients/ssm.js';
import { instancesHealth } from '../aws/eb.js';
import {
  migrationDocumentFor,
  pickInstance,
  pollMigrationCheck,
  startMigrationCheck,
} from '../aws/migration-check.js';
import { getTarget } from '../config/load.js';
import { MigrationCheckFailed } from '../errors.js';
import { config, runtimeEnv } from '../runtime.js';
import type { DeployResult, MigrationResult, Release } from '../workflow-state.js';

function checkOf(release: Release) {
  const check = getTarget(config(), release.target).migrationCheck;
  if (!check) throw new MigrationCheckFailed(`target ${release.target} has no migrationCheck in ebship.yml`);
  return check;
}

/** Sends the check to one instance that runs the new version. */
export async function startCheck(release: Release, _deploy: DeployResult): Promise<MigrationResult> {
  const check = checkOf(release);
  // Only the instances are needed (DescribeInstancesHealth): one EB call, not a whole health look.
  const instanceId = pickInstance(await instancesHealth(eb, release.environment), release.versionLabel);
  if (!instanceId) {
    throw new MigrationCheckFailed(
      `no instance of ${release.environment} reports version ${release.versionLabel} as deployed; cannot run the migration check`,
    );
  }
  return startMigrationCheck(ssm, {
    documentName: migrationDocumentFor(runtimeEnv().migrationDocumentName, release.target),
    instanceId,
    check,
    environment: release.environment,
    versionLabel: release.versionLabel,
  });
}

export async function pollCheck(release: Release, previous: MigrationResult): Promise<MigrationResult> {
  return pollMigrationCheck(ssm, previous, checkOf(release));
}
