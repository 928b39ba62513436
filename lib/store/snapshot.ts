import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { InstanceSnapshot } from '../health/verdict.js';
import { type EnvKey, envPk, isConditionFailed } from './deployments.js';

/**
 * The shared health read's items (lib/health/fleet-read.ts): what the fleet's executions share so
 * that EB is read once for all of them.
 *
 * | pk | sk | holds |
 * | `ENV#<app>/<env>` | `SNAPSHOT` | the environment as the last batched read saw it, with its age |
 * | `ACCOUNT` | `WATCHING` | one attribute per watched environment: since, until |
 * | `ACCOUNT` | `POLLER` | the refresh lease and the account-wide DescribeEvents cursor |
 * | `ACCOUNT` | `BUDGET` | the token bucket every shared EB call takes from |
 */

const ACCOUNT_PK = 'ACCOUNT';
const SNAPSHOT_SK = 'SNAPSHOT';
const WATCHING_SK = 'WATCHING';
const POLLER_SK = 'POLLER';
const BUDGET_SK = 'BUDGET';
/** Snapshots outlive their use by a day at most (TTL); nothing reads one older than a minute. */
const SNAPSHOT_TTL_SECONDS = 24 * 3600;

export interface SnapshotEvent {
  date: string;
  severity: string;
  message: string;
}

export interface EnvSnapshot {
  application: string;
  environment: string;
  /** ISO time just before the DescribeEnvironments that read it: its age is never understated. */
  readAt: string;
  status: string;
  color?: string;
  healthStatus?: string;
  versionLabel?: string;
  platformArn?: string;
  solutionStackName?: string;
  /** Every EB event of the environment from `eventsFrom` to `eventsReadAt`, oldest first. */
  events: SnapshotEvent[];
  eventsFrom: string;
  /**
   * ISO time just before the DescribeEvents the events came from. A refresh reads the environments
   * and the events separately (lib/health/fleet-refresh.ts), so events can be older than `readAt`.
   * Absent: no events read for this snapshot yet (they are then never fresh).
   */
  eventsReadAt?: string;
  /** DescribeInstancesHealth, when read, and when (ISO, just before the call). */
  instances?: InstanceSnapshot[];
  instancesReadAt?: string;
}

export interface WatchEntry extends EnvKey {
  /** ISO: events from here on are wanted (the watched update's start). */
  since: string;
  /** Epoch ms: the watch is dropped after this unless renewed. */
  until: number;
}

const watchAttr = (key: EnvKey) => `w:${key.application}/${key.environment}`;

export async function getSnapshot(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
): Promise<EnvSnapshot | undefined> {
  const out = await db.send(
    new GetCommand({ TableName: table, Key: { pk: envPk(key), sk: SNAPSHOT_SK }, ConsistentRead: true }),
  );
  return out.Item ? (out.Item.snapshot as EnvSnapshot) : undefined;
}

/** Snapshots of many environments (BatchGetItem, 100 keys a call, unprocessed keys asked again). */
export async function getSnapshots(
  db: DynamoDBDocumentClient,
  table: string,
  keys: EnvKey[],
): Promise<Map<string, EnvSnapshot>> {
  const found = new Map<string, EnvSnapshot>();
  for (let i = 0; i < keys.length; i += 100) {
    let request: Record<string, { pk: string; sk: string }[]> | undefined = {
      [table]: keys.slice(i, i + 100).map((k) => ({ pk: envPk(k), sk: SNAPSHOT_SK })),
    };
    for (let attempt = 0; request && attempt < 5; attempt++) {
      const out = await db.send(
        new BatchGetCommand({
          RequestItems: Object.fromEntries(
            Object.entries(request).map(([t, ks]) => [t, { Keys: ks, ConsistentRead: true }]),
          ),
        }),
      );
      for (const item of out.Responses?.[table] ?? [])
        found.set(String(item.pk), item.snapshot as EnvSnapshot);
      const left = out.UnprocessedKeys?.[table]?.Keys as { pk: string; sk: string }[] | undefined;
      request = left && left.length > 0 ? { [table]: left } : undefined;
    }
  }
  return found;
}

export async function putSnapshot(db: DynamoDBDocumentClient, table: string, s: EnvSnapshot): Promise<void> {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: {
        pk: envPk(s),
        sk: SNAPSHOT_SK,
        snapshot: s,
        expiresAt: Math.floor(Date.parse(s.readAt) / 1000) + SNAPSHOT_TTL_SECONDS,
      },
    }),
  );
}

/** Adds or renews an environment in the registry of watched environments (one attribute each). */
export async function registerWatch(
  db: DynamoDBDocumentClient,
  table: string,
  entry: WatchEntry,
): Promise<void> {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: ACCOUNT_PK, sk: WATCHING_SK },
      UpdateExpression: 'SET #w = :w',
      ExpressionAttributeNames: { '#w': watchAttr(entry) },
      ExpressionAttributeValues: { ':w': entry },
    }),
  );
}

/** Every environment watched at `now`; expired entries are removed on the way (best effort). */
export async function listWatching(
  db: DynamoDBDocumentClient,
  table: string,
  now: number,
): Promise<WatchEntry[]> {
  const out = await db.send(
    new GetCommand({ TableName: table, Key: { pk: ACCOUNT_PK, sk: WATCHING_SK }, ConsistentRead: true }),
  );
  const all = Object.entries(out.Item ?? {})
    .filter(([k]) => k.startsWith('w:'))
    .map(([k, v]) => [k, v as WatchEntry] as const);
  const expired = all.filter(([, e]) => e.until <= now);
  if (expired.length > 0) {
    // Removed only if still expired: a renewal written meanwhile wins.
    await Promise.all(
      expired.map(([k, e]) =>
        db
          .send(
            new UpdateCommand({
              TableName: table,
              Key: { pk: ACCOUNT_PK, sk: WATCHING_SK },
              UpdateExpression: 'REMOVE #w',
              ConditionExpression: '#w.#until = :until',
              ExpressionAttributeNames: { '#w': k, '#until': 'until' },
              ExpressionAttributeValues: { ':until': e.until },
            }),
          )
          .catch((err) => {
            if (!isConditionFailed(err)) throw err;
          }),
      ),
    );
  }
  return all.filter(([, e]) => e.until > now).map(([, e]) => e);
}

export interface PollerState {
  /** ISO: the account-wide DescribeEvents cursor (events before it are in the snapshots). */
  eventsCursor?: string;
}

/**
 * Claims the refresh lease for `seconds` with a conditional write: one refresher at a time, and a
 * refresher that died holding it is replaced once the lease runs out. Returns the poller's state, or
 * undefined when another holds the lease.
 */
export async function claimPollerLease(
  db: DynamoDBDocumentClient,
  table: string,
  holder: string,
  now: number,
  seconds: number,
): Promise<PollerState | undefined> {
  try {
    const out = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: ACCOUNT_PK, sk: POLLER_SK },
        UpdateExpression: 'SET leaseUntil = :until, holder = :holder',
        ConditionExpression: 'attribute_not_exists(leaseUntil) OR leaseUntil <= :now',
        ExpressionAttributeValues: { ':until': now + seconds * 1000, ':holder': holder, ':now': now },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return { ...(out.Attributes?.eventsCursor ? { eventsCursor: String(out.Attributes.eventsCursor) } : {}) };
  } catch (err) {
    if (isConditionFailed(err)) return undefined;
    throw err;
  }
}

/** Ends the lease (only the holder's own), moving the events cursor when the refresh read events. */
export async function releasePollerLease(
  db: DynamoDBDocumentClient,
  table: string,
  holder: string,
  now: number,
  eventsCursor?: string,
): Promise<void> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: ACCOUNT_PK, sk: POLLER_SK },
        UpdateExpression: eventsCursor
          ? 'SET leaseUntil = :now, refreshedAt = :now, eventsCursor = :cursor'
          : 'SET leaseUntil = :now',
        ConditionExpression: 'holder = :holder',
        ExpressionAttributeValues: {
          ':now': now,
          ':holder': holder,
          ...(eventsCursor ? { ':cursor': eventsCursor } : {}),
        },
      }),
    );
  } catch (err) {
    // The lease ran out and someone else holds it now: their refresh moves the cursor.
    if (!isConditionFailed(err)) throw err;
  }
}

export interface Budget {
  /** Calls a second the fleet may make. */
  rate: number;
  /** Calls it may make at once. */
  burst: number;
}

/**
 * Takes `n` tokens from the shared bucket, or none: true when taken. Optimistic: the item is read,
 * refilled at `rate` since its last write, and written back only if nobody wrote it in between; a
 * lost race reads it again. Every execution's shared EB reads go through here, so the fleet as a
 * whole stays under `rate` whatever the number of executions.
 */
export async function takeBudget(
  db: DynamoDBDocumentClient,
  table: string,
  budget: Budget,
  n: number,
  now: () => number,
): Promise<boolean> {
  for (let attempt = 0; attempt < 8; attempt++) {
    const out = await db.send(
      new GetCommand({ TableName: table, Key: { pk: ACCOUNT_PK, sk: BUDGET_SK }, ConsistentRead: true }),
    );
    const t = now();
    const item = out.Item;
    const at = typeof item?.at === 'number' ? item.at : t;
    const before = typeof item?.tokens === 'number' ? item.tokens : budget.burst;
    const tokens = Math.min(budget.burst, before + (Math.max(0, t - at) / 1000) * budget.rate);
    if (tokens < n) return false;
    // A version number, not the time, guards the write: two takers at the same instant would
    // otherwise both see their condition hold.
    const version = typeof item?.version === 'number' ? item.version : 0;
    try {
      await db.send(
        new PutCommand({
          TableName: table,
          Item: {
            pk: ACCOUNT_PK,
            sk: BUDGET_SK,
            tokens: tokens - n,
            at: Math.max(t, at),
            version: version + 1,
          },
          ConditionExpression: item ? '#version = :version' : 'attribute_not_exists(pk)',
          ...(item
            ? {
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':version': version },
              }
            : {}),
        }),
      );
      return true;
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
    }
  }
  // Contended eight times in a row: as good as empty.
  return false;
}

/** Adds an environment's instances, read by one execution, to its snapshot (if there is one). */
export async function putSnapshotInstances(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  instances: InstanceSnapshot[],
  readAt: string,
): Promise<void> {
  try {
    await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: envPk(key), sk: SNAPSHOT_SK },
        UpdateExpression: 'SET #s.instances = :i, #s.instancesReadAt = :t',
        ConditionExpression: 'attribute_exists(#s)',
        ExpressionAttributeNames: { '#s': 'snapshot' },
        ExpressionAttributeValues: { ':i': instances, ':t': readAt },
      }),
    );
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
  }
}
