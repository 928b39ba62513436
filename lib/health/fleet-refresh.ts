import {
  DescribeEnvironmentsCommand,
  DescribeEventsCommand,
  type ElasticBeanstalkClient,
  type EnvironmentDescription,
  type EventDescription,
} from '@aws-sdk/client-elastic-beanstalk';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EnvKey } from '../store/deployments.js';
import {
  type Budget,
  type EnvSnapshot,
  getSnapshots,
  listWatching,
  putSnapshot,
  type SnapshotEvent,
  takeBudget,
  type WatchEntry,
} from '../store/snapshot.js';
import { maskAppText } from '../text/mask.js';

/**
 * One refresh of every watched environment, made by whichever CheckHealth found the shared snapshot
 * stale and won the POLLER lease (lib/health/fleet-read.ts). Two batched reads whatever the fleet's
 * size: DescribeEnvironments with every watched name (EnvironmentNames is a list: EB API reference,
 * DescribeEnvironments), and DescribeEvents for the whole account since a cursor (ApplicationName and
 * EnvironmentName are optional filters: EB API reference, DescribeEvents; EB answers it with the
 * events of the resources the caller's IAM policy may read, so ebship's role sees its own). Each call takes a token
 * from the shared budget first; per-environment reads (DescribeInstancesHealth has no batch form) are
 * left to the executions that need them.
 */

export interface FleetDeps {
  eb: ElasticBeanstalkClient;
  db: DynamoDBDocumentClient;
  table: string;
  budget: Budget;
  now: () => number;
}

/** Names per DescribeEnvironments call: the list has no documented maximum; a page stays small. */
const NAMES_PER_CALL = 100;
/** The cursor steps back this far: an event can become visible a little after its own timestamp. */
const CURSOR_OVERLAP_MS = 10_000;
/** Events kept per snapshot (newest): enough for an update's and a bake's, well inside 400 KB. */
const EVENTS_KEPT = 200;
/** DescribeEvents pages read per refresh at most (1,000 events each). */
const EVENT_PAGES = 5;

export class FleetBudgetSpent extends Error {
  override name = 'FleetBudgetSpent';
}

export class FleetEventsOverflow extends Error {
  override name = 'FleetEventsOverflow';
}

const keyOf = (k: EnvKey) => `${k.application}/${k.environment}`;

/**
 * What a refresh reads: the environments (one DescribeEnvironments per 100 names), the account's
 * events since the cursor (one DescribeEvents page or more), or both. Most looks of a watch need only
 * the environments: the events are read when a look sees the environment change, or would end the
 * watch healthy (lib/steps/check-health.ts, readHealth).
 */
export interface RefreshWhat {
  environments: boolean;
  events: boolean;
}

/**
 * Refreshes every watched environment's snapshot. Returns the events cursor (moved only when the
 * events were read). Throws FleetBudgetSpent when the budget has no token for the batch (nothing is
 * written then).
 */
export async function refreshFleet(
  deps: FleetDeps,
  cursor: string | undefined,
  what: RefreshWhat = { environments: true, events: true },
): Promise<string | undefined> {
  const startedAt = deps.now();
  const watching = await listWatching(deps.db, deps.table, startedAt);
  if (watching.length === 0) return cursor ?? new Date(startedAt).toISOString();
  const previous = await getSnapshots(deps.db, deps.table, watching);
  // Events from the cursor, or from the start of any watch whose snapshot does not reach back to it.
  const covered = (e: WatchEntry) => {
    const p = previous.get(`ENV#${keyOf(e)}`);
    return p?.eventsReadAt !== undefined && Date.parse(p.eventsFrom) <= Date.parse(e.since);
  };
  const from = Math.min(
    cursor ? Date.parse(cursor) : Number.POSITIVE_INFINITY,
    ...watching.filter((e) => !covered(e)).map((e) => Date.parse(e.since)),
  );
  const start = Number.isFinite(from) ? from : startedAt - CURSOR_OVERLAP_MS;

  const names = [...new Set(watching.map((e) => e.environment))];
  const calls = (what.environments ? Math.ceil(names.length / NAMES_PER_CALL) : 0) + (what.events ? 1 : 0);
  if (!(await takeBudget(deps.db, deps.table, deps.budget, calls, deps.now))) {
    throw new FleetBudgetSpent(`the fleet's EB read budget has no ${calls} calls left`);
  }
  const readAt = new Date(deps.now()).toISOString();
  const [environments, events] = await Promise.all([
    what.environments ? describeAll(deps.eb, names) : undefined,
    what.events ? accountEvents(deps, new Date(start)) : undefined,
  ]);

  await Promise.all(
    watching.map((entry) => {
      const p = previous.get(`ENV#${keyOf(entry)}`);
      if (!environments) {
        // Events only: the environment stays as its last read saw it (with its own age).
        return p && events
          ? putSnapshot(deps.db, deps.table, withEvents(p, entry, events, start, readAt))
          : undefined;
      }
      const env = environments.find(
        (d) =>
          d.EnvironmentName === entry.environment &&
          d.ApplicationName === entry.application &&
          d.Status !== 'Terminated',
      );
      const base: EnvSnapshot = {
        application: entry.application,
        environment: entry.environment,
        readAt,
        // Not listed (or only as terminated): the same as the direct read's EnvironmentNotFound.
        status: env?.Status ?? 'Terminated',
        ...(env?.Health ? { color: env.Health } : {}),
        ...(env?.HealthStatus ? { healthStatus: env.HealthStatus } : {}),
        ...(env?.VersionLabel ? { versionLabel: env.VersionLabel } : {}),
        ...(env?.PlatformArn ? { platformArn: env.PlatformArn } : {}),
        ...(env?.SolutionStackName ? { solutionStackName: env.SolutionStackName } : {}),
        // The events as the last read of them left them; none yet for a new watch (never fresh).
        events: p?.events ?? [],
        eventsFrom: p?.eventsFrom ?? readAt,
        ...(p?.eventsReadAt ? { eventsReadAt: p.eventsReadAt } : {}),
        // Instances stay with their own read time: the reader judges their age.
        ...(p?.instances && p.instancesReadAt
          ? { instances: p.instances, instancesReadAt: p.instancesReadAt }
          : {}),
      };
      return putSnapshot(
        deps.db,
        deps.table,
        events ? withEvents(base, entry, events, start, readAt, p) : base,
      );
    }),
  );
  return events ? new Date(Date.parse(readAt) - CURSOR_OVERLAP_MS).toISOString() : cursor;
}

/** The snapshot with the events just read merged into what it kept (de-duplicated, since its watch's start). */
function withEvents(
  s: EnvSnapshot,
  entry: WatchEntry,
  events: EventDescription[],
  start: number,
  readAt: string,
  previous: EnvSnapshot | undefined = s,
): EnvSnapshot {
  const covered =
    previous !== undefined &&
    Date.parse(previous.eventsFrom) <= Date.parse(entry.since) &&
    previous.eventsReadAt !== undefined;
  const keep = covered ? previous.events : [];
  const mine = events
    .filter((e) => e.EnvironmentName === entry.environment && e.ApplicationName === entry.application)
    .map(toEvent);
  let merged = dedupe([...keep, ...mine]).filter((e) => e.date >= entry.since);
  let eventsFrom = covered ? maxIso(previous.eventsFrom, entry.since) : new Date(start).toISOString();
  eventsFrom = maxIso(eventsFrom, entry.since);
  if (merged.length > EVENTS_KEPT) {
    merged = merged.slice(-EVENTS_KEPT);
    eventsFrom = merged[0]?.date ?? eventsFrom;
  }
  return { ...s, events: merged, eventsFrom, eventsReadAt: readAt };
}

async function describeAll(eb: ElasticBeanstalkClient, names: string[]): Promise<EnvironmentDescription[]> {
  const pages: EnvironmentDescription[][] = [];
  for (let i = 0; i < names.length; i += NAMES_PER_CALL) {
    const out = await eb.send(
      new DescribeEnvironmentsCommand({
        EnvironmentNames: names.slice(i, i + NAMES_PER_CALL),
        IncludeDeleted: false,
      }),
    );
    pages.push(out.Environments ?? []);
  }
  return pages.flat();
}

/** Every event in the account since `start` (paged; later pages take a budget token each). */
async function accountEvents(deps: FleetDeps, start: Date): Promise<EventDescription[]> {
  const all: EventDescription[] = [];
  let token: string | undefined;
  for (let page = 0; page < EVENT_PAGES; page++) {
    if (page > 0 && !(await takeBudget(deps.db, deps.table, deps.budget, 1, deps.now))) {
      throw new FleetBudgetSpent('the fleet EB read budget ran out while paging DescribeEvents');
    }
    const out = await deps.eb.send(
      new DescribeEventsCommand({ StartTime: start, MaxRecords: 1000, NextToken: token }),
    );
    all.push(...(out.Events ?? []));
    token = out.NextToken;
    if (!token) return all;
  }
  // More than EVENT_PAGES pages since the cursor: the oldest are missing, so no snapshot may claim
  // them. Failing the refresh makes readers fall back to their own per-environment reads.
  throw new FleetEventsOverflow(`more than ${EVENT_PAGES * 1000} EB events since ${start.toISOString()}`);
}

function toEvent(e: EventDescription): SnapshotEvent {
  return {
    date: (e.EventDate ?? new Date(0)).toISOString(),
    severity: e.Severity ?? 'INFO',
    // Event texts can quote the application (a failing command's output): masked before the table.
    message: maskAppText(e.Message ?? ''),
  };
}

function dedupe(events: SnapshotEvent[]): SnapshotEvent[] {
  const seen = new Set<string>();
  return events
    .filter((e) => {
      const k = `${e.date}|${e.severity}|${e.message}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.date.localeCompare(b.date));
}

function maxIso(a: string, b: string): string {
  return Date.parse(a) >= Date.parse(b) ? a : b;
}
