import { dynamo } from '../aws/clients.js';
import { logger } from '../logger.js';
import { runtimeEnv } from '../runtime.js';
import { acquireLock, getLastGood, isDowngrade, recordPush } from '../store/deployments.js';
import type { LockResult, Release } from '../workflow-state.js';

/** Longest an execution can hold an environment: the state machine's own timeout (serverless.yml). */
export const LEASE_SECONDS = 3 * 3600;
/** How long a push is remembered for deduplication: EventBridge retries a target for 24 h. */
const PUSH_MEMORY_SECONDS = 26 * 3600;

/**
 * Takes the environment's lock, after making sure a push is neither a duplicate (EventBridge
 * delivers at least once, and re-tagging an image emits a new PUSH) nor older than what is
 * deployed. Manual deploys and rollbacks skip both checks: a person asked for exactly that image.
 */
export async function acquireDeployLock(release: Release): Promise<LockResult> {
  const env = runtimeEnv();
  if (release.trigger === 'push') {
    const seen = await recordPush(dynamo, env.tableName, {
      repository: release.repository,
      imageDigest: release.imageDigest,
      target: release.target,
      executionId: release.executionId,
      now: new Date(),
      ttlSeconds: PUSH_MEMORY_SECONDS,
    });
    if (seen === 'duplicate')
      return skipped(`duplicate push of ${release.imageDigest} to ${release.repository}: already handled`);
    const current = await getLastGood(dynamo, env.tableName, release);
    if (current?.imageDigest === release.imageDigest)
      return skipped(`${release.imageDigest} is already deployed as ${current.versionLabel}`);
    if (current && isDowngrade(release, current)) {
      return skipped(
        `${release.imageDigest} was pushed before the deployed ${current.versionLabel}: ebship never downgrades on push; deploy it by hand to do so`,
      );
    }
  }
  const lock = await acquireLock(dynamo, env.tableName, release, {
    owner: release.executionId,
    versionLabel: release.versionLabel,
    imageDigest: release.imageDigest,
    leaseSeconds: LEASE_SECONDS,
    now: new Date(),
  });
  return { owner: lock.owner, expiresAt: lock.leaseUntil };
}

function skipped(reason: string): LockResult {
  logger.info('deployment skipped', { reason });
  return { skipped: { reason } };
}
