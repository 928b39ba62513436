import { readAlarms } from '../aws/alarms.js';
import { cloudwatch } from '../aws/clients/cloudwatch.js';
import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { abortUpdate, healthSnapshot, instancesHealth } from '../aws/eb.js';
import { getTarget } from '../config/load.js';
import type { HealthPolicy } from '../config/schema.js';
import { EnvironmentNotFound } from '../errors.js';
import { type HealthSnapshot, healthVerdict } from '../health/verdict.js';
import { logger } from '../logger.js';
import { config, runtimeEnv } from '../runtime.js';
import { proveLock } from '../store/ownership.js';
import type { HealthProgress, Release } from '../workflow-state.js';

export interface Watch {
  /** The version the environment should converge on. */
  toVersion: string;
  /** The version it ran before, when known. */
  fromVersion?: string;
  /** ISO time of the UpdateEnvironment call. */
  startedAt: string;
}

/** Enough polls to cover the timeout at the shortest jittered interval, plus slack for unread polls. */
export function watchLimits(policy: Pick<HealthPolicy, 'timeoutSeconds' | 'pollSeconds'>): {
  maxPolls: number;
} {
  return { maxPolls: Math.ceil(policy.timeoutSeconds / Math.max(1, policy.pollSeconds * 0.8)) + 10 };
}

/**
 * One poll of the health watch: a snapshot through the EB API, judged by healthVerdict. Only a
 * verdict on health rolls back: a poll that cannot read health (throttled, a 5xx, a timeout) is no
 * data, and the watch goes on until its own deadline, where it times out like any other watch.
 */
export async function checkHealth(
  release: Release,
  watch: Watch,
  previous?: HealthProgress,
  now = () => new Date(),
): Promise<HealthProgress> {
  const policy = gatedPolicy(release, watch, getTarget(config(), release.target).health);
  const { maxPolls } = watchLimits(policy);
  let snapshot: Awaited<ReturnType<typeof healthSnapshot>>;
  try {
    snapshot = await healthSnapshot(eb, release, watch.startedAt);
  } catch (err) {
    if (err instanceof EnvironmentNotFound) {
      snapshot = {
        now: now().toISOString(),
        status: 'Terminated',
        causes: [err.message],
        instances: [],
        events: [],
      };
    } else {
      return { ...unreadPoll(policy, watch, previous, err, maxPolls), ...gatesCarried(previous) };
    }
  }
  snapshot = await withGates(release, policy, snapshot);
  const progress = healthVerdict(
    snapshot,
    {
      expectedVersion: watch.toVersion,
      ...(watch.fromVersion ? { fromVersion: watch.fromVersion } : {}),
      startedAt: watch.startedAt,
      policy,
      maxPolls,
    },
    previous,
    Math.random(),
  );
  return { ...progress, unread: { count: 0, max: maxPolls }, lastReadAt: snapshot.now };
}

function unreadPoll(
  policy: HealthPolicy,
  watch: Watch,
  previous: HealthProgress | undefined,
  err: unknown,
  maxPolls: number,
): HealthProgress {
  const e = err as Error;
  const polls = (previous?.polls ?? 0) + 1;
  const lastRead = previous?.lastReadAt ? `last read ${previous.lastReadAt}` : 'never read since the update';
  const why = `could not read health (${e?.name ?? 'Error'}: ${e?.message ?? String(err)}; ${lastRead})`;
  logger.warn('health poll could not read EB: no data, the watch goes on', { error: e?.name, polls });
  // The deadline is the watch's poll budget (its timeout at the shortest poll interval): this
  // Lambda's clock is never compared with EB's times, which every other verdict is taken from.
  const timedOut = polls >= maxPolls;
  const jittered = Math.max(1, Math.round(policy.pollSeconds * (0.8 + 0.4 * Math.random())));
  return {
    verdict: timedOut ? 'timeout' : 'wait',
    polls,
    nextPollSeconds: jittered,
    ...(previous?.convergedAt ? { convergedAt: previous.convergedAt } : {}),
    ...(previous?.healthySince ? { healthySince: previous.healthySince } : {}),
    ...(previous?.lastReadAt ? { lastReadAt: previous.lastReadAt } : {}),
    ...(previous?.status ? { status: previous.status } : {}),
    ...(previous?.color ? { color: previous.color } : {}),
    ...(previous?.healthStatus ? { healthStatus: previous.healthStatus } : {}),
    causes: timedOut
      ? [
          `no healthy verdict after ${polls} polls since ${watch.startedAt} (limit ${policy.timeoutSeconds}s): ${why}`,
        ]
      : [why],
    events: previous?.events ?? [],
    unread: { count: 0, max: maxPolls },
  };
}

/**
 * The gates (issue 13) watch the deploy, not the rollback: a rollback is never aborted, and the
 * alarms that fired for the failed version are still in ALARM while it runs. The rollback watch is
 * the one whose target version is not the release's.
 */
function gatedPolicy(release: Release, watch: Watch, policy: HealthPolicy): HealthPolicy {
  if (watch.toVersion === release.versionLabel) return policy;
  return { ...policy, alarms: [], abortAfterSeconds: 0 };
}

/**
 * Adds what the gates read to a snapshot: the alarms (one DescribeAlarms call; a failure is no
 * data), and, while EB is Updating with health below Ok, every instance's health and version, which
 * the Updating read leaves out: the early abort judges instances already on the new version.
 */
async function withGates(
  release: Release,
  policy: HealthPolicy,
  snapshot: HealthSnapshot,
): Promise<HealthSnapshot> {
  const crashing =
    policy.abortAfterSeconds > 0 &&
    snapshot.status === 'Updating' &&
    snapshot.instances.length === 0 &&
    ['Warning', 'Degraded', 'Severe'].includes(snapshot.healthStatus ?? '');
  const [alarms, instances] = await Promise.all([
    policy.alarms.length > 0 ? readAlarms(cloudwatch, policy.alarms) : undefined,
    crashing
      ? instancesHealth(eb, release.environment).catch((err: unknown) => {
          // No data for the early abort on this poll; its clock is kept, the verdict waits.
          logger.warn('could not read instance health while Updating', { error: (err as Error).name });
          return undefined;
        })
      : undefined,
  ]);
  if (alarms && !alarms.ok)
    logger.warn('could not read the alarms: no data this poll', { error: alarms.error });
  return {
    ...snapshot,
    ...(alarms ? { alarms } : {}),
    ...(instances ? { instances } : {}),
  };
}

/** An unread poll keeps what the gates recorded: the alarms' states before the update, the notes. */
function gatesCarried(previous: HealthProgress | undefined): Partial<HealthProgress> {
  return {
    ...(previous?.alarmsBefore ? { alarmsBefore: previous.alarmsBefore } : {}),
    ...(previous?.notes ? { notes: previous.notes } : {}),
    ...(previous?.redSince ? { redSince: previous.redSince } : {}),
  };
}

/** Cancels an update that never converged, so the rollback starts from a Ready environment. */
export async function abortStuckUpdate(release: Release): Promise<{ aborted: boolean }> {
  await proveLock(dynamo, runtimeEnv().tableName, release, release.executionId);
  return { aborted: await abortUpdate(eb, release) };
}
