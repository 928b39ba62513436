import type { ElasticBeanstalkClient } from '@aws-sdk/client-elastic-beanstalk';
import { type EnvRef, healthSnapshot, instancesHealth } from '../aws/eb.js';
import { logger } from '../logger.js';
import {
  type Budget,
  claimPollerLease,
  type EnvSnapshot,
  getSnapshot,
  putSnapshotInstances,
  registerWatch,
  releasePollerLease,
  takeBudget,
} from '../store/snapshot.js';
import { FleetBudgetSpent, type FleetDeps, refreshFleet } from './fleet-refresh.js';
import type { HealthSnapshot, InstanceSnapshot } from './verdict.js';

/**
 * The shared health read: every execution reads its environment from the SNAPSHOT item that one
 * batched refresh wrote for the whole fleet, instead of calling EB itself. Cooperative: the
 * CheckHealth that finds the snapshot stale claims the POLLER lease (a conditional write) and
 * refreshes every watched environment in one batch (fleet-refresh.ts); the others wait a moment for
 * it. No second loop runs, so there is nothing to start, stop or watch over, and when the refresh
 * cannot happen (the lease holder died, the table or the batch failed) the execution reads EB
 * itself: the shared read is an optimisation, never a dependency.
 *
 * `EBSHIP_HEALTH_READ=direct` turns it off: each execution polls EB itself, as before.
 */
export type HealthReadMode = 'shared' | 'direct';

export function healthReadMode(env: NodeJS.ProcessEnv = process.env): HealthReadMode {
  return env.EBSHIP_HEALTH_READ === 'direct' ? 'direct' : 'shared';
}

/**
 * A snapshot is fresh when the DescribeEnvironments it came from started at most this long ago and
 * its events reach back to the watch's start; instances count only when read at most this long ago.
 * Only fresh reads are judged: a verdict never comes from anything older. Older snapshots are
 * refreshed by the reader that finds them, so a poll sees EB at most this much later than its own
 * read would have (the direct read's latency), while a fleet polling every 15 s shares about one
 * refresh per FRESH_SECONDS.
 */
export const FRESH_SECONDS = 5;
/** The refresher's lease: far longer than a refresh takes; a refresher that died frees it after this. */
export const LEASE_SECONDS = 20;
/** A watch drops out of the registry when no CheckHealth renewed it for this long. */
export const REGISTRATION_SECONDS = 180;
/**
 * The fleet's share of EB's Describe* rate (about 2 calls/s, burst 15, per account and region):
 * half of it, so people, the console and other tools keep the other half.
 */
export const FLEET_BUDGET: Budget = { rate: 1, burst: 10 };
/** How long a reader waits for another execution's refresh before reading EB itself. */
const WAIT_FOR_REFRESH_MS = [500, 1000, 1500, 2000];

/** EB's answers to a caller over its rate (EB API reference, Common Errors: Throttling). */
const EB_THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);

/** No EB read was possible within the budget (ours or EB's throttle): no data, never a verdict. */
export class HealthReadThrottled extends Error {
  override name = 'HealthReadThrottled';
}

export interface ReadDeps extends FleetDeps {
  /** Identifies this reader as lease holder (the execution id). */
  holder: string;
  sleep: (ms: number) => Promise<void>;
}

/**
 * What a look needs fresh: the environment (status, colour, version: DescribeEnvironments), or its
 * events as well (DescribeEvents, back to the watch's start). A quiet look needs only the first.
 */
export type SharedNeed = 'environment' | 'events';

/** The environment read at most FRESH_SECONDS ago. */
export function environmentFresh(s: EnvSnapshot | undefined, now: number): s is EnvSnapshot {
  return s !== undefined && now - Date.parse(s.readAt) <= FRESH_SECONDS * 1000;
}

/** The events read at most FRESH_SECONDS ago, reaching back to the watch's start. */
export function eventsFresh(s: EnvSnapshot | undefined, since: string, now: number): s is EnvSnapshot {
  return (
    s?.eventsReadAt !== undefined &&
    now - Date.parse(s.eventsReadAt) <= FRESH_SECONDS * 1000 &&
    Date.parse(s.eventsFrom) <= Date.parse(since)
  );
}

/** Environment and events both fresh: what a verdict that ends the watch is taken from. */
export function isFresh(s: EnvSnapshot | undefined, since: string, now: number): s is EnvSnapshot {
  return environmentFresh(s, now) && eventsFresh(s, since, now);
}

const freshFor = (need: SharedNeed, s: EnvSnapshot | undefined, since: string, now: number) =>
  need === 'events' ? isFresh(s, since, now) : environmentFresh(s, now);

/**
 * The environment as a fresh shared snapshot shows it (without instances), or undefined: read EB
 * yourself. `environment`: only its DescribeEnvironments part need be fresh (its events are those of
 * an earlier read: true, maybe not all); `events`: both, events back to the watch's start.
 */
export async function sharedSnapshot(
  deps: ReadDeps,
  ref: EnvRef,
  since: string,
  need: SharedNeed = 'events',
): Promise<EnvSnapshot | undefined> {
  const key = { application: ref.application, environment: ref.environment };
  await registerWatch(deps.db, deps.table, {
    ...key,
    since,
    until: deps.now() + REGISTRATION_SECONDS * 1000,
  });
  for (let attempt = 0; ; attempt++) {
    const current = await getSnapshot(deps.db, deps.table, key);
    if (freshFor(need, current, since, deps.now())) return current;
    const lease = await claimPollerLease(deps.db, deps.table, deps.holder, deps.now(), LEASE_SECONDS);
    if (lease) return refreshAsHolder(deps, key, since, need, current, lease.eventsCursor);
    // Someone else is refreshing: their batch covers this environment too (or, if it read less than
    // this look needs, the lease is free again soon for this reader to take).
    const ms = WAIT_FOR_REFRESH_MS[attempt];
    if (ms === undefined) return undefined;
    await deps.sleep(ms);
  }
}

async function refreshAsHolder(
  deps: ReadDeps,
  key: EnvRef,
  since: string,
  need: SharedNeed,
  current: EnvSnapshot | undefined,
  eventsCursor: string | undefined,
): Promise<EnvSnapshot | undefined> {
  let cursor: string | undefined;
  try {
    // Only what is stale: the environment read a moment ago is not read again for its events.
    cursor = await refreshFleet(deps, eventsCursor, {
      environments: !environmentFresh(current, deps.now()),
      events: need === 'events',
    });
  } catch (err) {
    // Over the budget, or EB throttled the batch: a direct read now would only add to it.
    if (err instanceof FleetBudgetSpent || EB_THROTTLING.has((err as Error)?.name ?? '')) {
      throw new HealthReadThrottled((err as Error).message);
    }
    logger.warn('shared health refresh failed: reading EB directly', {
      error: (err as Error).name,
      reason: (err as Error).message,
    });
    return undefined;
  } finally {
    await releasePollerLease(deps.db, deps.table, deps.holder, deps.now(), cursor);
  }
  const refreshed = await getSnapshot(deps.db, deps.table, key);
  return freshFor(need, refreshed, since, deps.now()) ? refreshed : undefined;
}

/** The snapshot as the verdict reads it: events since the watch's start, instances only when fresh. */
export function toHealthSnapshot(s: EnvSnapshot, since: string, now: number): HealthSnapshot {
  const instancesFresh =
    s.instances !== undefined &&
    s.instancesReadAt !== undefined &&
    now - Date.parse(s.instancesReadAt) <= FRESH_SECONDS * 1000 &&
    Date.parse(s.instancesReadAt) >= Date.parse(s.readAt) - FRESH_SECONDS * 1000;
  return {
    now: s.readAt,
    status: s.status,
    ...(s.color ? { color: s.color } : {}),
    ...(s.healthStatus ? { healthStatus: s.healthStatus } : {}),
    ...(s.versionLabel ? { versionLabel: s.versionLabel } : {}),
    causes:
      s.status === 'Terminated'
        ? [`environment ${s.environment} is not listed by EB (terminated or deleted)`]
        : [],
    instances: instancesFresh ? (s.instances ?? []) : [],
    events: s.events.filter((e) => e.date >= since),
  };
}

/** Instances fresh in the snapshot, or read now (one budget token, DescribeInstancesHealth has no batch form). */
export async function sharedInstances(deps: ReadDeps, ref: EnvRef): Promise<InstanceSnapshot[]> {
  const pages = 1;
  if (!(await takeBudget(deps.db, deps.table, deps.budget, pages, deps.now))) {
    throw new HealthReadThrottled("the fleet's EB read budget is spent (DescribeInstancesHealth)");
  }
  const readAt = new Date(deps.now()).toISOString();
  const instances = await instancesHealth(deps.eb, ref.environment);
  await putSnapshotInstances(deps.db, deps.table, ref, instances, readAt);
  return instances;
}

/** The fallback: this execution's own look at EB (lib/aws/eb.ts), inside the same budget. */
export async function budgetedDirectRead(
  deps: ReadDeps,
  ref: EnvRef,
  since: string,
): Promise<HealthSnapshot> {
  // Two calls while Updating, four once Ready: take the worst case.
  if (!(await takeBudget(deps.db, deps.table, deps.budget, 4, deps.now))) {
    throw new HealthReadThrottled("the fleet's EB read budget is spent (direct read)");
  }
  return healthSnapshot(deps.eb as ElasticBeanstalkClient, ref, since);
}
