import type { Target } from './schema.js';

/**
 * How long one execution of a target can take, worst case, from taking the environment's lock to
 * its outcome. Every execution must fit the state machine's TimeoutSeconds
 * (state-machines/deploy.asl.yml), which is also the lock's lease (LEASE_SECONDS in
 * lib/steps/acquire-lock.ts): past it the execution is killed mid-deploy and its lock may be taken.
 * The parts follow the states and their Retry budgets; keep them in step with the ASL.
 */

/** deploy.asl.yml TimeoutSeconds, equal to the lock lease (lib/steps/acquire-lock.ts LEASE_SECONDS). */
export const EXECUTION_TIMEOUT_SECONDS = 21_600;
/**
 * What one target's worst case may take: half the execution timeout, so a push that waits behind
 * another execution of the environment (for as long as that one can take) still has its own worst
 * case left (lib/steps/acquire-lock.ts waitBudgetSeconds).
 */
export const DEPLOY_LIMIT_SECONDS = EXECUTION_TIMEOUT_SECONDS / 2;

/** Longest Lambda timeout among the Task states (serverless.yml: BuildBundle 120 s; the rest ≤ 60 s). */
const TASK_SECONDS = 120;
/**
 * ValidateSecrets, BuildBundle, and CreateAppVersion's processing wait (120 polls of 5 s,
 * lib/steps/create-app-version.ts), each with a task's worth of retries.
 */
const PREFLIGHT_SECONDS = 60 + 120 + 120 * 5 + 3 * TASK_SECONDS;
/**
 * DeployVersion's EnvironmentNotReady retries, at their longest: 30 s ×1.5, capped at 300 s,
 * 8 attempts (30+45+67.5+101.25+151.875+227.8+300+300 ≈ 1224), plus the call itself.
 */
const DEPLOY_START_SECONDS = 1224 + TASK_SECONDS;
/** AbortUpdate after a watch timed out. */
const ABORT_SECONDS = TASK_SECONDS;
/**
 * RollBack's EnvironmentNotReady retries: 20 s ×1.5, capped at 120 s, 10 attempts
 * (20+30+45+67.5+101.25+120×5 ≈ 864), plus the call itself.
 */
const ROLLBACK_START_SECONDS = 864 + TASK_SECONDS;
/** GetCommandInvocation answers InvocationDoesNotExist for a while first (lib/aws/migration-check.ts: 10 polls of 5 s). */
const MIGRATION_REGISTER_SECONDS = 10 * 5;
/** The release phase's ECR login and image pull, on top of its command's timeout (infra/release-script.cjs). */
export const RELEASE_PULL_SECONDS = 300;
/** RecordOutcome and Notify, with their retries. */
const OUTCOME_SECONDS = 2 * TASK_SECONDS;
/** Throttling retries across the polls, clock skew, and Step Functions' own scheduling. */
const SLACK_SECONDS = 600;

export interface DeployBudget {
  /** Each part, in the order an execution spends it. */
  parts: { name: string; seconds: number }[];
  total: number;
}

/** A watch lasts its timeout plus the last (jittered, +20%) poll that notices it ran out. */
function watchSeconds(target: Target): number {
  return target.health.timeoutSeconds + Math.ceil(target.health.pollSeconds * 1.2) + TASK_SECONDS;
}

/** The worst case of one execution of `target`, part by part. */
export function deployBudget(target: Target): DeployBudget {
  const parts = [
    { name: 'preflight', seconds: PREFLIGHT_SECONDS },
    ...(target.release
      ? [
          {
            name: 'release phase (release.timeoutSeconds)',
            seconds:
              target.release.timeoutSeconds +
              RELEASE_PULL_SECONDS +
              MIGRATION_REGISTER_SECONDS +
              2 * TASK_SECONDS,
          },
        ]
      : []),
    { name: 'deploy start', seconds: DEPLOY_START_SECONDS },
    { name: 'health watch (health.timeoutSeconds)', seconds: watchSeconds(target) },
    ...(target.migrationCheck
      ? [
          {
            name: 'migration check (migrationCheck.timeoutSeconds)',
            seconds: target.migrationCheck.timeoutSeconds + MIGRATION_REGISTER_SECONDS + 2 * TASK_SECONDS,
          },
        ]
      : []),
    ...(target.checks.length > 0
      ? [
          {
            // The checks run at the same time: the longest one bounds them.
            name: 'post-deploy checks (longest checks[].timeoutSeconds)',
            seconds:
              Math.max(...target.checks.map((c) => c.timeoutSeconds)) +
              MIGRATION_REGISTER_SECONDS +
              2 * TASK_SECONDS,
          },
        ]
      : []),
    { name: 'abort', seconds: ABORT_SECONDS },
    { name: 'rollback start', seconds: ROLLBACK_START_SECONDS },
    { name: 'rollback watch (health.timeoutSeconds)', seconds: watchSeconds(target) },
    { name: 'outcome and alert', seconds: OUTCOME_SECONDS },
    { name: 'slack', seconds: SLACK_SECONDS },
  ];
  return { parts, total: parts.reduce((sum, p) => sum + p.seconds, 0) };
}

/**
 * Worst-case seconds from taking the lock to the outcome for one execution of `target`: a push
 * queued behind it may have to wait this long.
 */
export function maxDeploySeconds(target: Target): number {
  return deployBudget(target).total;
}

/** The problem to report when a target's worst case does not fit the execution timeout, with the arithmetic. */
export function deployBudgetProblem(target: Target): string | undefined {
  const { parts, total } = deployBudget(target);
  if (total <= DEPLOY_LIMIT_SECONDS) return undefined;
  const over = total - DEPLOY_LIMIT_SECONDS;
  // health.timeoutSeconds counts twice (deploy watch and rollback watch).
  const maxTimeout = Math.max(0, target.health.timeoutSeconds - Math.ceil(over / 2));
  return (
    `a deploy of this target can take ${total}s (${parts.map((p) => `${p.name} ${p.seconds}`).join(' + ')}), ` +
    `${over}s more than the ${DEPLOY_LIMIT_SECONDS}s a deploy may take (half the state machine's ${EXECUTION_TIMEOUT_SECONDS}s TimeoutSeconds, ` +
    'so a push waiting behind another deploy of the environment still has time for its own); ' +
    `lower health.timeoutSeconds to at most ${maxTimeout}${target.migrationCheck ? ' or lower migrationCheck.timeoutSeconds' : ''}${target.release ? ' or lower release.timeoutSeconds' : ''}${target.checks.length > 0 ? ' or lower checks[].timeoutSeconds' : ''}`
  );
}
