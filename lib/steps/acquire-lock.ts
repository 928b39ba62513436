import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { dynamo } from '../aws/clients/dynamo.js';
import { sfn } from '../aws/clients/sfn.js';
import { EnvironmentBusy } from '../errors.js';
import { logger } from '../logger.js';
import { runtimeEnv } from '../runtime.js';
import {
  acquireLock,
  getLastGood,
  getLock,
  isDowngrade,
  recordPush,
  takeOverLock,
} from '../store/deployments.js';
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
  const request = {
    owner: release.executionId,
    versionLabel: release.versionLabel,
    imageDigest: release.imageDigest,
    leaseSeconds: LEASE_SECONDS,
    now: new Date(),
  };
  try {
    const lock = await acquireLock(dynamo, env.tableName, release, request);
    return { owner: lock.owner, expiresAt: lock.leaseUntil };
  } catch (err) {
    if (!(err instanceof EnvironmentBusy)) throw err;
    // An execution stopped from the console or timed out never reaches RecordOutcome: its lock
    // would block every deploy until the lease ends. Take it over once Step Functions says so.
    const holder = await getLock(dynamo, env.tableName, release);
    if (!holder || !(await executionEnded(holder.owner))) throw err;
    logger.warn('took over the lock of an execution that is no longer running', { deadOwner: holder.owner });
    const lock = await takeOverLock(dynamo, env.tableName, release, holder.owner, request);
    return { owner: lock.owner, expiresAt: lock.leaseUntil };
  }
}

/** True when the lock owner is an execution that has ended (any status but RUNNING). */
async function executionEnded(owner: string): Promise<boolean> {
  if (!owner.startsWith('arn:')) return false;
  try {
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn: owner }));
    return status !== undefined && status !== 'RUNNING';
  } catch (err) {
    // Executions are kept 90 days; one that no longer exists certainly holds nothing.
    return (err as Error).name === 'ExecutionDoesNotExist';
  }
}

function skipped(reason: string): LockResult {
  logger.info('deployment skipped', { reason });
  return { skipped: { reason } };
}
