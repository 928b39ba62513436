import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { dynamo } from '../aws/clients/dynamo.js';
import { sfn } from '../aws/clients/sfn.js';
import { maxDeploySeconds } from '../config/limits.js';
import { getTarget } from '../config/load.js';
import type { Target } from '../config/schema.js';
import { EnvironmentBusy } from '../errors.js';
import { logger } from '../logger.js';
import { config, runtimeEnv } from '../runtime.js';
import {
  acquireLock,
  forgetPush,
  getLastGood,
  getLock,
  isDowngrade,
  recordDeployment,
  recordPush,
  takeOverLock,
} from '../store/deployments.js';
import { type Freeze, getFreeze, holdPush, isFrozen } from '../store/freeze.js';
import { claimNextTurn, getNextTurn, releaseNextTurn } from '../store/ownership.js';
import type { LockResult, Release } from '../workflow-state.js';
import { requiredProof } from './promote.js';

/** Longest an execution can hold an environment: the state machine's own timeout (TimeoutSeconds). */
export const LEASE_SECONDS = 6 * 3600;
/** How long a push is remembered for deduplication: EventBridge retries a target for 24 h. */
const PUSH_MEMORY_SECONDS = 26 * 3600;
/** Polling the lock while waiting, jittered ±20%. */
const WAIT_POLL_SECONDS = 60;

/**
 * How long a push may wait for its environment: whatever its own execution has left once its own
 * worst case is set aside. Config validation (lib/config/limits.ts) keeps every target's worst case
 * within half the execution timeout, so this always covers the deploy it waits behind.
 */
export function waitBudgetSeconds(target: Target): number {
  return Math.max(0, LEASE_SECONDS - maxDeploySeconds(target));
}

/**
 * Takes the environment's lock, after making sure a push is neither a duplicate (EventBridge
 * delivers at least once, and re-tagging an image emits a new PUSH) nor older than what is
 * deployed. Manual deploys and rollbacks skip both checks: a person asked for exactly that image.
 * While another execution holds the environment, a push waits (the state machine polls, for free):
 * the newest waiting push takes the next turn, older ones end Skipped naming it, and a push is never
 * dropped for want of patience.
 */
export async function acquireDeployLock(release: Release, now = new Date()): Promise<LockResult> {
  const env = runtimeEnv();
  const cfg = config();
  const target = getTarget(cfg, release.target);
  /** What `--force` overrode: history and the alert name it. */
  const forced: string[] = [];
  // A promoted target deploys only digests that succeeded on `promote.from` (issue 14), before any
  // other check: an unproven push leaves no dedupe marker, so its re-tag after the proof still deploys.
  const gate = await requiredProof(dynamo, env.tableName, cfg, release);
  if (gate && !gate.proof) {
    const why = `${release.imageDigest} has not succeeded on ${gate.from}, and ${release.target} deploys only what did (promote.from)`;
    if (release.trigger === 'push')
      return skipped(release, `${why}; it is promoted here by itself once it succeeds there`);
    if (release.trigger !== 'manual' || !release.forced) {
      return skipped(
        release,
        `${why}: deploy it to ${gate.from} first, or deploy it here anyway with ` +
          `\`ebship deploy ${release.target} --digest ${release.imageDigest} --force\``,
      );
    }
    logger.warn('manual deploy of an unproven digest forced past the promotion gate', { from: gate.from });
    forced.push(`past the promotion gate (never succeeded on ${gate.from})`);
  }
  if (release.trigger === 'push') {
    const seen = await recordPush(dynamo, env.tableName, {
      repository: release.repository,
      imageDigest: release.imageDigest,
      target: release.target,
      executionId: release.executionId,
      now,
      ttlSeconds: PUSH_MEMORY_SECONDS,
    });
    if (seen === 'duplicate')
      return skipped(
        release,
        `duplicate push of ${release.imageDigest} to ${release.repository}: already handled`,
      );
  }
  // Automatic deploys (a push, a promotion) never redeploy or downgrade; a person may.
  if (release.trigger === 'push' || release.trigger === 'promotion') {
    const current = await getLastGood(dynamo, env.tableName, release);
    if (current?.imageDigest === release.imageDigest)
      return skipped(release, `${release.imageDigest} is already deployed as ${current.versionLabel}`);
    if (current && isDowngrade(release, current)) {
      return skipped(
        release,
        `${release.imageDigest} was pushed before the deployed ${current.versionLabel}: ebship never downgrades on ${release.trigger}; deploy it by hand to do so`,
      );
    }
  }
  if (release.trigger === 'push') {
    const next = await getNextTurn(dynamo, env.tableName, release);
    if (
      next &&
      next.executionId !== release.executionId &&
      isDowngrade(release, { ...next, imageDigest: '' })
    )
      return superseded(release, next);
  }
  // A freeze holds automatic deploys and refuses manual ones without --force; a rollback always runs
  // (a freeze is for "stop shipping", never "stop recovering").
  if (release.trigger !== 'rollback') {
    const freeze = await getFreeze(dynamo, env.tableName, release);
    if (isFrozen(freeze, now)) {
      if (release.trigger === 'push' || release.trigger === 'promotion') return held(release, freeze, now);
      if (!release.forced) {
        return skipped(
          release,
          `${release.target} is frozen (${describeFreeze(freeze)}): deploy through the freeze with ` +
            `\`ebship deploy ${release.target} --digest ${release.imageDigest} --force\`, or \`ebship unfreeze ${release.target}\` first`,
        );
      }
      logger.warn('manual deploy forced through a freeze', { freeze: freeze.reason });
      forced.push('through a freeze');
    }
  }
  const request = {
    owner: release.executionId,
    versionLabel: release.versionLabel,
    imageDigest: release.imageDigest,
    leaseSeconds: LEASE_SECONDS,
    now,
  };
  try {
    const lock = await acquireLock(dynamo, env.tableName, release, request);
    await releaseNextTurn(dynamo, env.tableName, release, release.executionId);
    return { owner: lock.owner, expiresAt: lock.leaseUntil, ...(forced.length > 0 ? { forced } : {}) };
  } catch (err) {
    if (!(err instanceof EnvironmentBusy)) throw err;
    // An execution stopped from the console or timed out may not have released its lock (the
    // ended-execution rule does, eventually): take it over once Step Functions says it has ended.
    const holder = await getLock(dynamo, env.tableName, release);
    if (holder && (await executionEnded(holder.owner))) {
      logger.warn('took over the lock of an execution that is no longer running', {
        deadOwner: holder.owner,
      });
      const lock = await takeOverLock(dynamo, env.tableName, release, holder.owner, request);
      await releaseNextTurn(dynamo, env.tableName, release, release.executionId);
      return { owner: lock.owner, expiresAt: lock.leaseUntil, ...(forced.length > 0 ? { forced } : {}) };
    }
    return wait(release, target, holder?.owner ?? 'another execution', err, now);
  }
}

async function wait(
  release: Release,
  target: Target,
  holder: string,
  busy: EnvironmentBusy,
  now: Date,
): Promise<LockResult> {
  const table = runtimeEnv().tableName;
  const waited = (now.getTime() - Date.parse(release.startedAt)) / 1000;
  const budget = waitBudgetSeconds(target);
  if (release.trigger === 'push') {
    const turn = await claimNextTurn(dynamo, table, release, {
      executionId: release.executionId,
      target: release.target,
      versionLabel: release.versionLabel,
      ...(release.imagePushedAt ? { imagePushedAt: release.imagePushedAt } : {}),
      since: release.startedAt,
    });
    if (!turn.mine) return superseded(release, turn.by);
  }
  if (waited > budget) {
    await releaseNextTurn(dynamo, table, release, release.executionId);
    throw new EnvironmentBusy(
      `${busy.message}. Waited ${Math.round(waited)}s, all this execution can spare ` +
        `(${LEASE_SECONDS}s execution limit less ${maxDeploySeconds(target)}s for its own deploy): ` +
        'deploy again when it is free',
    );
  }
  const nextPollSeconds = Math.max(1, Math.round(WAIT_POLL_SECONDS * (0.8 + 0.4 * Math.random())));
  logger.info('environment busy: waiting for it', { holder, waited: Math.round(waited), nextPollSeconds });
  return { waiting: { nextPollSeconds, holder, since: release.startedAt } };
}

/** True when the lock owner is an execution that has ended (any status but RUNNING). */
async function executionEnded(owner: string): Promise<boolean> {
  if (!owner.startsWith('arn:')) return false;
  try {
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn: owner }));
    return status !== undefined && status !== 'RUNNING';
  } catch (err) {
    // Executions are kept 90 days; one that no longer exists certainly holds nothing. Any other
    // error (throttling, access denied) says nothing about the holder: it is treated as alive.
    if ((err as Error).name === 'ExecutionDoesNotExist') return true;
    logger.warn('could not tell whether the lock holder still runs: treating it as running', {
      owner,
      error: (err as Error).name,
    });
    return false;
  }
}

function superseded(
  release: Release,
  by: { executionId: string; versionLabel: string },
): Promise<LockResult> {
  return skipped(
    release,
    `superseded by a newer push, ${by.versionLabel} (execution ${by.executionId}), while both waited for ${release.environment}: only the newest push deploys`,
  );
}

export function describeFreeze(freeze: Freeze): string {
  return `since ${freeze.frozenAt} by ${freeze.by}: "${freeze.reason}"${freeze.until ? `, until ${freeze.until}` : ''}`;
}

/**
 * A push to a frozen environment: kept as the held push (the newest wins) and deployed when the
 * freeze ends. Its dedupe marker is forgotten, so that deploy is not taken for a duplicate.
 */
async function held(release: Release, freeze: Freeze, now: Date): Promise<LockResult> {
  const table = runtimeEnv().tableName;
  const kept = await holdPush(dynamo, table, release, {
    target: release.target,
    repository: release.repository,
    imageDigest: release.imageDigest,
    ...(release.imageTag ? { imageTag: release.imageTag } : {}),
    ...(release.imagePushedAt ? { imagePushedAt: release.imagePushedAt } : {}),
    versionLabel: release.versionLabel,
    executionId: release.executionId,
    heldAt: now.toISOString(),
    ...(release.promotedFrom ? { promotedFrom: release.promotedFrom } : {}),
  });
  await forgetPush(dynamo, table, {
    repository: release.repository,
    imageDigest: release.imageDigest,
    target: release.target,
    executionId: release.executionId,
  });
  return skipped(
    release,
    kept === 'held'
      ? `held: ${release.target} is frozen (${describeFreeze(freeze)}); ${release.versionLabel} deploys on \`ebship unfreeze ${release.target}\`, unless a newer push replaces it`
      : `held push dropped: ${release.target} is frozen (${describeFreeze(freeze)}) and a newer push is already held for after it`,
  );
}

/** A skip decision is history too: `ebship history` says why a push did not deploy. */
async function skipped(release: Release, reason: string): Promise<LockResult> {
  logger.info('deployment skipped', { reason });
  const now = new Date();
  await recordDeployment(dynamo, runtimeEnv().tableName, {
    target: release.target,
    application: release.application,
    environment: release.environment,
    executionId: release.executionId,
    trigger: release.trigger,
    toVersion: release.versionLabel,
    imageUri: release.imageUri,
    outcome: 'SKIPPED',
    reason,
    startedAt: release.startedAt,
    endedAt: now.toISOString(),
    durationSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(release.startedAt)) / 1000)),
  });
  return { skipped: { reason } };
}
