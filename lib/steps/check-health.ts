import { readAlarms } from '../aws/alarms.js';
import { cloudwatch } from '../aws/clients/cloudwatch.js';
import { dynamo } from '../aws/clients/dynamo.js';
import { eb } from '../aws/clients/eb.js';
import { abortUpdate, environmentCauses, healthSnapshot, IN_PROGRESS, instancesHealth } from '../aws/eb.js';
import { getTarget } from '../config/load.js';
import type { HealthPolicy } from '../config/schema.js';
import { EnvironmentNotFound } from '../errors.js';
import {
  budgetedDirectRead,
  eventsFresh,
  FLEET_BUDGET,
  HealthReadThrottled,
  healthReadMode,
  type ReadDeps,
  type SharedNeed,
  sharedInstances,
  sharedSnapshot,
  toHealthSnapshot,
} from '../health/fleet-read.js';
import { colorOf, type HealthSnapshot, healthVerdict, type WatchContext } from '../health/verdict.js';
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
 * One poll of the health watch: a snapshot (readHealth: the fleet's shared read, or EB directly),
 * judged by healthVerdict. Only a verdict on health rolls back: a poll that cannot read health (a
 * 5xx, a timeout) is no data, and the watch goes on until its own deadline, where it times out like
 * any other watch. A throttled poll (EB's throttle, or the fleet's budget spent) is not even that:
 * it costs neither a poll nor time, so a throttle can never end a watch (see throttledPoll).
 */
export async function checkHealth(
  release: Release,
  watch: Watch,
  previous?: HealthProgress,
  now = () => new Date(),
): Promise<HealthProgress> {
  const policy = gatedPolicy(release, watch, getTarget(config(), release.target).health);
  const { maxPolls } = watchLimits(policy);
  const throttled = previous?.throttled;
  const ctx: WatchContext = {
    expectedVersion: watch.toVersion,
    ...(watch.fromVersion ? { fromVersion: watch.fromVersion } : {}),
    startedAt: watch.startedAt,
    // Time lost to the throttle is given back: the timeout is about the environment, not EB's rate.
    policy: throttled ? { ...policy, timeoutSeconds: policy.timeoutSeconds + throttled.seconds } : policy,
    maxPolls,
  };
  const jitter = Math.random();
  const judge = (s: HealthSnapshot) => healthVerdict(s, ctx, previous, jitter);
  let snapshot: HealthSnapshot;
  try {
    snapshot = await readHealth(release, watch, previous, judge);
  } catch (err) {
    if (err instanceof EnvironmentNotFound) {
      snapshot = {
        now: now().toISOString(),
        status: 'Terminated',
        causes: [err.message],
        instances: [],
        events: [],
      };
    } else if (isThrottled(err)) {
      return { ...throttledPoll(policy, previous, err), ...gatesCarried(previous) };
    } else {
      return { ...unreadPoll(policy, watch, previous, err, maxPolls), ...gatesCarried(previous) };
    }
  }
  snapshot = await withGates(release, policy, snapshot);
  let progress = judge(snapshot);
  if (progress.verdict === 'timeout' && convergedOn(snapshot, watch.toVersion)) {
    // The update is done: the timeout bounds the wait for EB to converge, not the bake after it.
    // A look that finds it converged late (slow or throttled polls) is judged on health. In a colour
    // the target accepts the bake simply goes on (the next look after bakeSeconds calls it healthy,
    // however far apart looks are); in another one it gets bake + grace + 4 polls from the
    // convergence, and a bounded number of looks: only a verdict on health rolls back.
    const since = Date.parse(previous?.convergedAt ?? snapshot.now) - Date.parse(watch.startedAt);
    const bakeDeadline =
      Math.ceil(since / 1000) + policy.bakeSeconds + policy.graceSeconds + 4 * policy.pollSeconds;
    const accepted = policy.allowedColors.includes(colorOf(snapshot) as 'Green');
    const extended: WatchContext = {
      ...ctx,
      policy: {
        ...ctx.policy,
        timeoutSeconds: accepted
          ? Number.MAX_SAFE_INTEGER
          : Math.max(ctx.policy.timeoutSeconds, bakeDeadline),
      },
      maxPolls: ctx.maxPolls + Math.ceil(bakeDeadline / Math.max(1, policy.pollSeconds * 0.8)),
    };
    progress = healthVerdict(snapshot, extended, previous, jitter);
  }
  return {
    ...progress,
    unread: { count: 0, max: maxPolls },
    lastReadAt: snapshot.now,
    ...(throttled ? { throttled } : {}),
    ...instancesAtVerdict(progress, snapshot),
  };
}

/** Most instances the state keeps at a failing verdict (Step Functions caps a state at 256 KiB). */
const MAX_INSTANCES_KEPT = 100;

/**
 * At a verdict that ends the deploy (rollback, abort, timeout): each instance and the version it
 * ran, for the alert of a partial deploy (lib/alerts/compose.ts, "Instances when the deploy was
 * judged"). Nothing while the watch goes on: the state stays small.
 */
function instancesAtVerdict(
  progress: HealthProgress,
  snapshot: HealthSnapshot,
): Pick<HealthProgress, 'instances'> | Record<string, never> {
  if (!['rollback', 'abort', 'timeout'].includes(progress.verdict) || snapshot.instances.length === 0)
    return {};
  return {
    instances: snapshot.instances.slice(0, MAX_INSTANCES_KEPT).map((i) => ({
      id: i.id,
      ...(i.versionLabel ? { versionLabel: i.versionLabel } : {}),
      ...(i.deploymentStatus ? { deploymentStatus: i.deploymentStatus } : {}),
      ...(i.color ? { color: i.color } : {}),
    })),
  };
}

/**
 * The look the verdict is taken from. Shared (the default): the environment's SNAPSHOT, refreshed
 * for the whole fleet by whichever execution finds it stale (lib/health/fleet-read.ts), read in up to
 * three parts, each only when the verdict depends on it:
 * - the environment (status, colour, enhanced health, version: batched DescribeEnvironments), read
 *   at most FRESH_SECONDS before, at every look;
 * - its events since the update started (account-wide DescribeEvents), fresh when this look sees the
 *   environment differ from the last look (status, colour or enhanced health: what an EB event would
 *   have woken the watch for), or would end the watch healthy or timed out. Otherwise the events of
 *   an earlier read stand: every one of them is true, and the look decides nothing they could change
 *   (a failure or a dip to Red that they would show arrives with a change of the environment, or is
 *   read before the deploy is called healthy);
 * - the instances (DescribeInstancesHealth, no batch form), only when the look would end the deploy:
 *   healthy or timed out (every instance on the new version, Deployed), or rolled back (the alert
 *   names each instance and the version it ran).
 * A Red environment's causes are read for the alert. Without a fresh snapshot this execution reads
 * EB itself. `EBSHIP_HEALTH_READ=direct`: always EB itself, unbudgeted (the old watch).
 */
async function readHealth(
  release: Release,
  watch: Watch,
  previous: HealthProgress | undefined,
  judge: (s: HealthSnapshot) => HealthProgress,
): Promise<HealthSnapshot> {
  if (healthReadMode() === 'direct') return healthSnapshot(eb, release, watch.startedAt);
  const deps: ReadDeps = {
    eb,
    db: dynamo,
    table: runtimeEnv().tableName,
    budget: FLEET_BUDGET,
    now: () => Date.now(),
    holder: release.executionId,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
  const shared = async (need: SharedNeed) => {
    try {
      return await sharedSnapshot(deps, release, watch.startedAt, need);
    } catch (err) {
      if (isThrottled(err)) throw err;
      // The table failed us: the shared read is an optimisation, never a dependency.
      logger.warn('shared health read failed: reading EB directly', { error: (err as Error).name });
      return 'table-failed' as const;
    }
  };
  let read = await shared('environment');
  if (read === 'table-failed') return healthSnapshot(eb, release, watch.startedAt);
  if (!read) return budgetedDirectRead(deps, release, watch.startedAt);
  let snapshot = toHealthSnapshot(read, watch.startedAt, deps.now());
  if (!eventsFresh(read, watch.startedAt, deps.now()) && needsEvents(previous, snapshot, judge)) {
    read = await shared('events');
    if (read === 'table-failed') return healthSnapshot(eb, release, watch.startedAt);
    if (!read) return budgetedDirectRead(deps, release, watch.startedAt);
    snapshot = toHealthSnapshot(read, watch.startedAt, deps.now());
  }
  if (colorOf(snapshot) === 'Red') {
    snapshot.causes = await environmentCauses(eb, release.environment).catch(() => snapshot.causes);
  }
  if (IN_PROGRESS.has(snapshot.status) || snapshot.status === 'Terminated' || snapshot.instances.length > 0) {
    return snapshot;
  }
  // Settled: the instances count only for a verdict that ends the deploy. Healthy needs every one on
  // the new version, Deployed; a timeout of an update EB reports done is decided by them too; a
  // rollback's alert names each instance and the version it ran (a partial deploy).
  if (endsDeploy(judge(snapshot))) {
    return { ...snapshot, instances: await sharedInstances(deps, release) };
  }
  return snapshot;
}

/** A look that would call the deploy healthy, or time it out, is taken from a complete read. */
const endsWatch = (p: HealthProgress) => p.verdict === 'healthy' || p.verdict === 'timeout';
/** ...and one that rolls back reads the instances too, for the alert. */
const endsDeploy = (p: HealthProgress) => endsWatch(p) || p.verdict === 'rollback' || p.verdict === 'abort';

/**
 * The events are read again when the environment differs from the last look (status, colour or
 * enhanced health: an EB event would have woken the watch for it, and a lost one is found here), or
 * when the look would end the watch. A look that finds nothing changed reads the environment alone.
 */
function needsEvents(
  previous: HealthProgress | undefined,
  snapshot: HealthSnapshot,
  judge: (s: HealthSnapshot) => HealthProgress,
): boolean {
  const changed =
    previous?.status !== snapshot.status ||
    previous?.color !== colorOf(snapshot) ||
    previous?.healthStatus !== snapshot.healthStatus;
  return changed || endsWatch(judge(snapshot));
}

/** Ready on the expected version, every instance reporting it Deployed: EB finished the update. */
function convergedOn(s: HealthSnapshot, version: string): boolean {
  return (
    s.status === 'Ready' &&
    s.versionLabel === version &&
    s.instances.every((i) => i.versionLabel === version && i.deploymentStatus === 'Deployed')
  );
}

/** EB's throttle and the fleet's own budget: EB is there, we are asking too often. */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'HealthReadThrottled',
]);
function isThrottled(err: unknown): boolean {
  return err instanceof HealthReadThrottled || THROTTLING.has((err as Error)?.name ?? '');
}

/**
 * A throttled poll: no data, and no cost to the watch. It keeps everything the watch knew, takes no
 * poll from its budget, and adds the wait to `throttled.seconds`, by which the timeout is moved. So
 * however long EB or the fleet's budget throttles, only a read of the environment decides; a watch
 * throttled for hours ends with the execution's own timeout (executionEnded alerts), never with a
 * rollback of a healthy deploy.
 */
function throttledPoll(
  policy: HealthPolicy,
  previous: HealthProgress | undefined,
  err: unknown,
): HealthProgress {
  const e = err as Error;
  const wait = Math.max(1, Math.round(policy.pollSeconds * (0.8 + 0.4 * Math.random())));
  const throttled = {
    polls: (previous?.throttled?.polls ?? 0) + 1,
    seconds: (previous?.throttled?.seconds ?? 0) + wait,
  };
  logger.warn('health poll throttled: no data, not counted', { error: e?.name, throttled: throttled.polls });
  const lastRead = previous?.lastReadAt ? `last read ${previous.lastReadAt}` : 'never read since the update';
  return {
    verdict: 'wait',
    polls: previous?.polls ?? 0,
    nextPollSeconds: wait,
    ...(previous?.convergedAt ? { convergedAt: previous.convergedAt } : {}),
    ...(previous?.healthySince ? { healthySince: previous.healthySince } : {}),
    ...(previous?.lastReadAt ? { lastReadAt: previous.lastReadAt } : {}),
    ...(previous?.status ? { status: previous.status } : {}),
    ...(previous?.color ? { color: previous.color } : {}),
    ...(previous?.healthStatus ? { healthStatus: previous.healthStatus } : {}),
    causes: [
      `could not read health (${e?.name ?? 'Error'}: ${e?.message ?? String(err)}; ${lastRead}); throttled, so not counted against the watch`,
    ],
    events: previous?.events ?? [],
    ...(previous?.unread ? { unread: previous.unread } : {}),
    throttled,
  };
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
    ...(previous?.throttled ? { throttled: previous.throttled } : {}),
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
