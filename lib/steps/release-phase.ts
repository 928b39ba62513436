import { eb } from '../aws/clients/eb.js';
import { ssm } from '../aws/clients/ssm.js';
import { getEnvironment, instancesHealth } from '../aws/eb.js';
import { pollReleasePhase, type ReleaseContext, startReleasePhase } from '../aws/release-phase.js';
import { releaseDocumentFor, stackPrefix } from '../aws/run-command.js';
import { getTarget } from '../config/load.js';
import { EnvironmentNotReady, ReleaseNotRun } from '../errors.js';
import { config, runtimeEnv } from '../runtime.js';
import type { Release, ReleasePhaseResult } from '../workflow-state.js';

function contextOf(release: Release): ReleaseContext {
  const phase = getTarget(config(), release.target).release;
  if (!phase) throw new ReleaseNotRun(`target ${release.target} has no release phase in ebship.yml`);
  return {
    environment: release.environment,
    versionLabel: release.versionLabel,
    imageDigest: release.imageDigest,
    imageUri: release.imageUri,
    document: releaseDocumentFor(stackPrefix(runtimeEnv().migrationDocumentName), release.target),
    phase,
    executionId: release.executionId,
    startedAt: release.startedAt,
  };
}

/** Sends the release phase to one healthy instance of the environment as it runs now (before the update). */
export async function startRelease(release: Release): Promise<ReleasePhaseResult> {
  const ctx = contextOf(release);
  const env = await getEnvironment(eb, release);
  // An update started outside ebship: its instances are mid-change. The state machine retries this.
  if (env.Status !== 'Ready') {
    throw new EnvironmentNotReady(
      `${release.environment} is ${env.Status ?? 'not Ready'}; the release phase waits for it to be Ready before picking an instance`,
    );
  }
  return startReleasePhase(ssm, await instancesHealth(eb, release.environment), ctx);
}

export async function pollRelease(
  release: Release,
  previous: ReleasePhaseResult,
): Promise<ReleasePhaseResult> {
  return pollReleasePhase(ssm, previous, contextOf(release));
}
