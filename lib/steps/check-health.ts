import { eb } from '../aws/clients/eb.js';
import { abortUpdate, healthSnapshot } from '../aws/eb.js';
import { getTarget } from '../config/load.js';
import { healthVerdict } from '../health/verdict.js';
import { config } from '../runtime.js';
import type { HealthProgress, Release } from '../workflow-state.js';

export interface Watch {
  /** The version the environment should converge on. */
  toVersion: string;
  /** ISO time of the UpdateEnvironment call. */
  startedAt: string;
}

/** One poll of the health watch: a snapshot through the EB API, judged by healthVerdict. */
export async function checkHealth(
  release: Release,
  watch: Watch,
  previous?: HealthProgress,
): Promise<HealthProgress> {
  const { health: policy } = getTarget(config(), release.target);
  const snapshot = await healthSnapshot(eb, release, watch.startedAt);
  // Enough polls to cover the timeout at the shortest jittered interval, plus slack for throttled polls.
  const maxPolls = Math.ceil(policy.timeoutSeconds / Math.max(1, policy.pollSeconds * 0.8)) + 10;
  return healthVerdict(
    snapshot,
    { expectedVersion: watch.toVersion, startedAt: watch.startedAt, policy, maxPolls },
    previous,
    Math.random(),
  );
}

/** Cancels an update that never converged, so the rollback starts from a Ready environment. */
export async function abortStuckUpdate(release: Release): Promise<{ aborted: boolean }> {
  return { aborted: await abortUpdate(eb, release) };
}
