import { notApprovedReason } from '../alerts/approval.js';
import { capTail, diagnosticsOf } from '../alerts/diagnostics.js';
import { dynamo } from '../aws/clients/dynamo.js';
import { sfn } from '../aws/clients/sfn.js';
import { promotedFrom } from '../config/load.js';
import { LockLost } from '../errors.js';
import { logger } from '../logger.js';
import { config, runtimeEnv } from '../runtime.js';
import { forgetPush, listHistory, putLastGood, recordDeployment, releaseLock } from '../store/deployments.js';
import { proveLock } from '../store/ownership.js';
import { recordProof } from '../store/promotion.js';
import { maskAppText } from '../text/mask.js';
import { describeCaught } from '../workflow/caught-error.js';
import type { DeployState, OutcomeStatus, PromotionResult, RecordedOutcome } from '../workflow-state.js';
import { startPromotions } from './promote.js';

/**
 * Writes the deployment's outcome to history, and releases the environment lock together with the
 * last-good pointer on success (one conditional transaction: only the lock's owner moves it). Every
 * path through the state machine that took the lock comes here. Safe to run twice: a retry after
 * it succeeded finds the lock already released and the pointer already moved by this execution.
 */
export async function recordOutcome(
  state: DeployState,
  status: OutcomeStatus,
  now = new Date(),
): Promise<RecordedOutcome> {
  const { release } = state;
  if (!release) return { recorded: false };
  const table = runtimeEnv().tableName;
  // The lock's owner is always the execution (also when $.lock is missing: AcquireLock took it, then
  // its Lambda failed before the result reached the state machine).
  const owner = state.lock?.owner ?? release.executionId;
  const held = await proveLock(dynamo, table, release, owner).then(
    () => true,
    (err: unknown) => {
      if (err instanceof LockLost) return false;
      throw err;
    },
  );
  if (!held && state.lock?.owner) {
    // It held the lock once. Either an earlier run of this step finished (a retry after it
    // succeeded), or the execution was stopped, finalised and redriven: it must change nothing.
    const mine = (await listHistory(dynamo, table, release, 50)).find(
      (h) => h.executionId === release.executionId,
    );
    if (!mine || ['RUNNING', 'ABORTED', 'TIMED_OUT'].includes(mine.outcome)) {
      throw new LockLost(
        `execution ${owner} no longer holds the lock on ${release.application}/${release.environment}: ` +
          'it was stopped or timed out and its outcome was already recorded; this redriven run records nothing',
      );
    }
    // A retry after the success was recorded: the promotions may not have started yet.
    return { recorded: true, lockReleased: false, ...(await promote(state, status)) };
  }
  // The one duration of the execution: history, the alert and `ebship follow` all show this one.
  const ended = {
    endedAt: now.toISOString(),
    durationSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(release.startedAt)) / 1000)),
  };
  await recordDeployment(dynamo, table, {
    target: release.target,
    application: release.application,
    environment: release.environment,
    executionId: release.executionId,
    trigger: release.trigger,
    fromVersion: state.deploy?.fromVersion,
    toVersion: release.versionLabel,
    imageUri: release.imageUri,
    outcome: status,
    reason: maskAppText(
      state.lock?.forced?.length
        ? `forced ${state.lock.forced.join(' and ')} (--force); ${outcomeReason(state, status)}`
        : outcomeReason(state, status),
    ),
    ...(release.promotedFrom ? { promotedFrom: release.promotedFrom.target } : {}),
    startedAt: release.startedAt,
    ...ended,
    ...historyTail(state),
    imagePushedAt: release.imagePushedAt,
    rollbackStartedAt: state.rollback?.startedAt,
    // Issue 14, manual approval: who let this promotion through, and when.
    ...(state.approval
      ? { approvedBy: state.approval.approvedBy, approvedAt: state.approval.approvedAt }
      : {}),
  });
  if (status === 'FAILED_BEFORE_DEPLOY' && release.trigger === 'push')
    await forgetPush(dynamo, table, release);
  if (!held) return { recorded: true, lockReleased: false, ...ended };
  if (status === 'SUCCEEDED' && release.trigger !== 'rollback') {
    // The proof a promoted target's gate reads: written before any promotion starts.
    await recordProof(dynamo, table, release, {
      imageDigest: release.imageDigest,
      versionLabel: release.versionLabel,
      ...(release.imageTag ? { imageTag: release.imageTag } : {}),
      executionId: release.executionId,
      succeededAt: now.toISOString(),
    });
  }
  if (status === 'SUCCEEDED') {
    await putLastGood(dynamo, table, release, {
      versionLabel: release.versionLabel,
      imageDigest: release.imageDigest,
      imagePushedAt: release.imagePushedAt,
      deployedAt: now.toISOString(),
      executionId: release.executionId,
    });
  }
  const released = await releaseLock(dynamo, table, release, owner);
  return { recorded: true, lockReleased: released, ...ended, ...(await promote(state, status)) };
}

/**
 * A success starts the deploys that promote from this target (lib/steps/promote.ts). A failure to
 * start them never changes this outcome: the alert says which promotion did not start, and how to
 * start it by hand.
 */
async function promote(
  state: DeployState,
  status: OutcomeStatus,
): Promise<{ promotions?: PromotionResult; promotionError?: string }> {
  const { release } = state;
  if (!release || status !== 'SUCCEEDED' || promotedFrom(config(), release.target).length === 0) return {};
  try {
    return { promotions: await startPromotions(sfn, config(), release) };
  } catch (err) {
    logger.error('promotion did not start', { error: err as Error });
    return { promotionError: `${(err as Error).name}: ${(err as Error).message}`.slice(0, 500) };
  }
}

/** The first instance's log tail (lib/alerts/log-tail.ts), its last lines only: history is read in a table. */
function historyTail(state: DeployState): {
  logTail?: { instanceId: string; source: string; lines: string };
} {
  const tail = diagnosticsOf(state)?.logTails[0];
  if (!tail) return {};
  return {
    logTail: {
      instanceId: tail.instanceId,
      source: tail.source,
      lines: capTail(tail.lines, 40, 4_000).lines,
    },
  };
}

/** One line for history: the first cause that explains the outcome. */
export function outcomeReason(state: DeployState, status: OutcomeStatus): string {
  // Issue 14, manual approval: rejected by whom and why, no answer in time, or superseded.
  if (status === 'NOT_APPROVED') return notApprovedReason(state);
  if (status === 'SUCCEEDED') {
    // Notes a person should see in `ebship history`: warn-only checks that failed, a skipped release phase.
    const notes = [
      ...(state.checks?.warnings ?? []),
      ...(state.releasePhase?.note ? [state.releasePhase.note] : []),
      ...(state.health?.notes ?? []),
    ];
    return notes.length > 0 ? notes.join('; ').slice(0, 1000) : (state.health?.causes[0] ?? 'healthy');
  }
  const watch = (h: DeployState['health']) =>
    h && ['rollback', 'timeout', 'overridden', 'abort'].includes(h.verdict) ? h.causes : [];
  const parts = [
    state.error && describeCaught(state.error),
    state.failure && describeCaught(state.failure),
    ...watch(state.health).slice(0, 2),
    ...(status === 'ROLLBACK_FAILED' || status === 'OVERRIDDEN'
      ? watch(state.rollbackHealth).slice(0, 1)
      : []),
  ].filter((p): p is string => Boolean(p));
  return (parts.join('; ') || status).slice(0, 1000);
}
