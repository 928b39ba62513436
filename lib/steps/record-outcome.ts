import { dynamo } from '../aws/clients/dynamo.js';
import { runtimeEnv } from '../runtime.js';
import { putLastGood, recordDeployment, releaseLock } from '../store/deployments.js';
import type { CaughtError, DeployState, OutcomeStatus } from '../workflow-state.js';

/**
 * Writes the deployment's outcome to history, moves the last-good pointer on success, and releases
 * the environment lock. Every path through the state machine that took the lock comes here.
 */
export async function recordOutcome(
  state: DeployState,
  status: OutcomeStatus,
  now = new Date(),
): Promise<{ recorded: boolean }> {
  const { release } = state;
  if (!release) return { recorded: false };
  const table = runtimeEnv().tableName;
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
    reason: outcomeReason(state, status),
    startedAt: release.startedAt,
    endedAt: now.toISOString(),
    durationSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(release.startedAt)) / 1000)),
  });
  if (status === 'SUCCEEDED') {
    await putLastGood(dynamo, table, release, {
      versionLabel: release.versionLabel,
      imageDigest: release.imageDigest,
      imagePushedAt: release.imagePushedAt,
      deployedAt: now.toISOString(),
      executionId: release.executionId,
    });
  }
  if (state.lock?.owner) await releaseLock(dynamo, table, release, state.lock.owner);
  return { recorded: true };
}

/** One line for history: the first cause that explains the outcome. */
export function outcomeReason(state: DeployState, status: OutcomeStatus): string {
  if (status === 'SUCCEEDED') return state.health?.causes[0] ?? 'healthy';
  const parts = [
    state.error && errorMessage(state.error),
    state.failure && errorMessage(state.failure),
    ...(state.health?.verdict === 'rollback' || state.health?.verdict === 'timeout'
      ? state.health.causes.slice(0, 2)
      : []),
    ...(status === 'ROLLBACK_FAILED' ? (state.rollbackHealth?.causes.slice(0, 1) ?? []) : []),
  ].filter((p): p is string => Boolean(p));
  return (parts.join('; ') || status).slice(0, 1000);
}

/** Lambda puts `{"errorType","errorMessage","trace"}` in Cause; local runs put the bare message. */
export function errorMessage(error: CaughtError): string {
  if (!error.Cause) return error.Error;
  try {
    const parsed = JSON.parse(error.Cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return `${error.Error}: ${parsed.errorMessage}`;
  } catch {
    // Not JSON: a plain message.
  }
  return `${error.Error}: ${error.Cause}`;
}
