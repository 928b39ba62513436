import type { EnvironmentDescription } from '@aws-sdk/client-elastic-beanstalk';
import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { eventsSince, getEnvironment, isMustBeReady, requestUpdate } from '../aws/eb.js';
import { DeployNotStarted, EnvironmentNotReady, UpdateOutcomeUnknown } from '../errors.js';
import { logger } from '../logger.js';
import { runtimeEnv } from '../runtime.js';
import { proveLock } from '../store/ownership.js';
import type { Release } from '../workflow-state.js';

export interface UpdateStarted {
  /** ISO time the update was requested: EB events before it are not this update's. */
  startedAt: string;
  /** The version the environment ran before. */
  fromVersion?: string;
  /**
   * How this execution knows the update is under way: it was accepted now, it was sent by an
   * earlier run of the step (a Lambda or SDK retry) and EB shows it, or the environment already
   * runs (or is updating to) the label.
   */
  how: 'accepted' | 'sent-earlier' | 'already-on-label';
}

const IN_PROGRESS = new Set(['Launching', 'Updating', 'Aborting', 'LinkingFrom', 'LinkingTo']);

/**
 * Points the environment at `label` at most once per execution, whatever is retried.
 *
 * EB can accept UpdateEnvironment and the answer still be lost or be a 5xx; the SDK's own retry then
 * gets "Must be Ready", and a Lambda retry of the step calls again. So before calling, and after any
 * error, this looks at EB's state: the environment on (or updating to) `label` means the update has
 * started, whoever's call it was. The call is recorded on the lock first (a conditional write that
 * also proves this execution still holds the environment), so a later run knows a call may have
 * reached EB and looks for its traces (events since then) before calling again. An error is reported
 * as "not started" only when EB's answer proves it: a 4xx to the single attempt that reached EB.
 */
export async function startUpdateOnce(
  release: Release,
  label: string,
  beforeCall: (env: EnvironmentDescription) => Promise<void> = async () => {},
): Promise<UpdateStarted> {
  const table = runtimeEnv().tableName;
  const owner = release.executionId;
  const lock = await proveLock(dynamo, table, release, owner);
  const prior = lock.pending[label];

  let env: EnvironmentDescription;
  try {
    env = await getEnvironment(eb, release);
    if (onLabel(env, label)) return started(env, label, prior);
    if (prior) {
      // An earlier run sent this update and never learnt its fate. Any EB event since then means
      // EB acted on it (it may already have failed and reverted): watch, never send it twice.
      const traces = await eventsSince(eb, release, prior.requestedAt);
      if (traces.length > 0) {
        logger.warn('an earlier UpdateEnvironment of this execution reached EB', {
          label,
          traces: traces.length,
        });
        return { startedAt: prior.requestedAt, fromVersion: prior.fromVersion, how: 'sent-earlier' };
      }
    }
  } catch (err) {
    if (prior) throw unknown(label, err);
    throw err;
  }
  if (prior) await proveLock(dynamo, table, release, owner, { settled: label });

  if (env.Status !== 'Ready') {
    throw new EnvironmentNotReady(
      `${release.environment} is ${env.Status}${env.VersionLabel ? ` on ${env.VersionLabel}` : ''}; another update is in progress, waiting for Ready before deploying ${label}`,
    );
  }
  await beforeCall(env);
  const requestedAt = new Date().toISOString();
  await proveLock(dynamo, table, release, owner, {
    pending: {
      label,
      update: { requestedAt, ...(env.VersionLabel ? { fromVersion: env.VersionLabel } : {}) },
    },
  });
  try {
    const { startedAt } = await requestUpdate(eb, release, label);
    return { startedAt, fromVersion: env.VersionLabel, how: 'accepted' };
  } catch (err) {
    return settleFailedCall(release, label, err, { requestedAt, fromVersion: env.VersionLabel });
  }
}

/** After UpdateEnvironment failed: EB's state decides, then only a provable refusal is "not started". */
async function settleFailedCall(
  release: Release,
  label: string,
  err: unknown,
  sent: { requestedAt: string; fromVersion?: string },
): Promise<UpdateStarted> {
  let env: EnvironmentDescription;
  try {
    env = await getEnvironment(eb, release);
  } catch (lookErr) {
    logger.warn('could not look at the environment after a failed UpdateEnvironment', {
      error: (lookErr as Error).name,
    });
    throw unknown(label, err);
  }
  if (onLabel(env, label))
    return { startedAt: sent.requestedAt, fromVersion: sent.fromVersion, how: 'accepted' };
  if (!refusedOutright(err)) throw unknown(label, err);

  await proveLock(dynamo, runtimeEnv().tableName, release, release.executionId, { settled: label });
  const e = err as Error;
  if (isMustBeReady(err)) {
    throw new EnvironmentNotReady(
      `${release.environment} is busy (${e.message}); another update is in progress`,
    );
  }
  if (THROTTLING.has(e.name)) throw err;
  throw new DeployNotStarted(
    `EB refused to update ${release.environment} to ${label}: ${e.name}: ${e.message}`,
  );
}

// Retried by the state machine as they are; each is an answer from AWS, so nothing was applied.
const THROTTLING = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException']);

/**
 * A 4xx answer to the only attempt the SDK made proves EB did not apply the update. With more than
 * one attempt, an earlier one may have been applied before its answer was lost or was a 5xx.
 */
function refusedOutright(err: unknown): boolean {
  const meta = (err as { $metadata?: { httpStatusCode?: unknown; attempts?: unknown } }).$metadata;
  const status = meta?.httpStatusCode;
  const attempts = typeof meta?.attempts === 'number' ? meta.attempts : 1;
  return typeof status === 'number' && status >= 400 && status < 500 && attempts <= 1;
}

function onLabel(env: EnvironmentDescription, label: string): boolean {
  return env.VersionLabel === label && (env.Status === 'Ready' || IN_PROGRESS.has(env.Status ?? ''));
}

function started(
  env: EnvironmentDescription,
  label: string,
  prior: { requestedAt: string; fromVersion?: string } | undefined,
): UpdateStarted {
  if (prior) return { startedAt: prior.requestedAt, fromVersion: prior.fromVersion, how: 'sent-earlier' };
  logger.info('the environment already runs or is updating to the label: watching it', {
    label,
    status: env.Status,
  });
  return { startedAt: new Date().toISOString(), fromVersion: undefined, how: 'already-on-label' };
}

function unknown(label: string, err: unknown): UpdateOutcomeUnknown {
  const e = err as Error;
  return new UpdateOutcomeUnknown(
    `UpdateEnvironment to ${label} got no usable answer (${e?.name}: ${e?.message}); ebship looks at the environment again before anything else`,
  );
}
