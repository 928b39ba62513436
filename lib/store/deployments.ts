import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
} from '@aws-sdk/lib-dynamodb';
import { EnvironmentBusy } from '../errors.js';
import { maskAppText } from '../text/mask.js';
import type { Trigger } from '../workflow-state.js';

/**
 * ebship's one DynamoDB table (docs/architecture.md, "DynamoDB table"): per environment a lock, the
 * last good version and the deployment history; per pushed digest a dedupe marker. Every write that
 * decides something (who deploys, whether a push is new) is a conditional write, so two executions
 * racing on the same environment or the same push cannot both win.
 */

export interface EnvKey {
  application: string;
  environment: string;
}

export interface LockItem {
  /** The execution that holds the environment. */
  owner: string;
  versionLabel: string;
  imageDigest: string;
  acquiredAt: string;
  leaseUntil: string;
}

export interface LastGood {
  versionLabel: string;
  imageDigest: string;
  imagePushedAt?: string;
  deployedAt: string;
  executionId: string;
}

export type HistoryOutcome =
  | 'SUCCEEDED'
  | 'ROLLED_BACK'
  | 'FAILED_BEFORE_DEPLOY'
  | 'ROLLBACK_FAILED'
  | 'OVERRIDDEN'
  /** A promotion waiting for manual approval was rejected, expired or superseded: nothing changed (issue 14). */
  | 'NOT_APPROVED'
  /** The execution was stopped, aborted or timed out from outside; finalised by the ended-execution rule. */
  | 'ABORTED'
  | 'TIMED_OUT'
  /** A push that did not deploy: a newer push to the same target superseded it, or a skip decision. */
  | 'SKIPPED'
  | 'RUNNING';

export interface HistoryEntry {
  target: string;
  application: string;
  environment: string;
  executionId: string;
  trigger: Trigger;
  fromVersion?: string;
  toVersion: string;
  imageUri?: string;
  outcome: HistoryOutcome;
  reason?: string;
  startedAt: string;
  endedAt?: string;
  durationSeconds?: number;
  /** After a rollback: the last lines the app printed on one failing instance (masked, capped). */
  logTail?: { instanceId: string; source: string; lines: string };
  /** When the image was pushed to ECR: lead time (push → healthy) in `ebship stats`. */
  imagePushedAt?: string;
  /** When ebship started rolling back: time to restore (rollback → healthy) in `ebship stats`. */
  rollbackStartedAt?: string;
  /** A promotion let through manual approval (issue 14): who approved (IAM ARN), and when. */
  approvedBy?: string;
  approvedAt?: string;
  /** A promotion: the target whose success started this deploy (issue 14). */
  promotedFrom?: string;
}

const LOCK_SK = 'LOCK';
const LAST_GOOD_SK = 'LAST_GOOD';
const DEPLOY_PREFIX = 'DEPLOY#';
const DEFAULT_HISTORY_LIMIT = 20;
/** A lock seen free after a failed conditional put was released in between: try again a few times. */
const LOCK_ATTEMPTS = 3;

export function envPk(key: EnvKey): string {
  return `ENV#${key.application}/${key.environment}`;
}

export function pushPk(repository: string, imageDigest: string): string {
  return `PUSH#${repository}@${imageDigest}`;
}

function deploySk(startedAt: string, executionId: string): string {
  return `${DEPLOY_PREFIX}${startedAt}#${executionId}`;
}

export interface LockRequest {
  owner: string;
  versionLabel: string;
  imageDigest: string;
  leaseSeconds: number;
  now: Date;
}

function lockItem(lock: LockRequest): LockItem {
  return {
    owner: lock.owner,
    versionLabel: lock.versionLabel,
    imageDigest: lock.imageDigest,
    acquiredAt: lock.now.toISOString(),
    leaseUntil: new Date(lock.now.getTime() + lock.leaseSeconds * 1000).toISOString(),
  };
}

/**
 * Takes the environment for one execution. Succeeds when nobody holds it, when the holder's lease
 * has run out (an execution that died without releasing), or when `owner` already holds it: Lambda
 * may run the step twice, and the second run must not lock its own execution out.
 * Leases are ISO strings from `toISOString()` (fixed width, UTC), so they compare as strings.
 */
export async function acquireLock(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  lock: LockRequest,
): Promise<LockItem> {
  const item = lockItem(lock);
  const now = lock.now.toISOString();
  for (let attempt = 1; ; attempt++) {
    const taken = await writeIf(
      db.send(
        new PutCommand({
          TableName: table,
          Item: { pk: envPk(key), sk: LOCK_SK, ...item },
          ConditionExpression: 'attribute_not_exists(pk) OR #leaseUntil < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#leaseUntil': 'leaseUntil', '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': lock.owner },
        }),
      ),
    );
    if (taken) return item;
    // Read the holder for the message (and to tell a real holder from one that just released).
    const holder = await getLock(db, table, key);
    if (holder && holder.owner !== lock.owner && holder.leaseUntil >= now) {
      throw new EnvironmentBusy(
        `${key.application}/${key.environment} is being deployed by execution ${holder.owner} ` +
          `(version ${holder.versionLabel}, since ${holder.acquiredAt}, lease until ${holder.leaseUntil}); ` +
          'ebship will retry until it is released',
      );
    }
    if (attempt >= LOCK_ATTEMPTS) {
      throw new EnvironmentBusy(
        `${key.application}/${key.environment} changed hands while ebship tried to lock it; ebship will retry`,
      );
    }
  }
}

/**
 * Takes the lock from a holder known to be dead (its execution was stopped or timed out, so it
 * never reached RecordOutcome). Conditional on that holder still owning it: if the lock changed
 * hands meanwhile, this throws EnvironmentBusy like any other contention.
 */
export async function takeOverLock(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  deadOwner: string,
  lock: LockRequest,
): Promise<LockItem> {
  const item = lockItem(lock);
  const taken = await writeIf(
    db.send(
      new PutCommand({
        TableName: table,
        Item: { pk: envPk(key), sk: LOCK_SK, ...item },
        ConditionExpression: '#owner = :dead',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':dead': deadOwner },
      }),
    ),
  );
  if (taken) return item;
  throw new EnvironmentBusy(
    `${key.application}/${key.environment} changed hands while ebship took over a dead lock; ebship will retry`,
  );
}

/** Releases the lock if `owner` holds it. False when there is no lock or another execution holds it. */
export async function releaseLock(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  owner: string,
): Promise<boolean> {
  return writeIf(
    db.send(
      new DeleteCommand({
        TableName: table,
        Key: { pk: envPk(key), sk: LOCK_SK },
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': owner },
      }),
    ),
  );
}

export async function getLock(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
): Promise<LockItem | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: table, Key: { pk: envPk(key), sk: LOCK_SK }, ConsistentRead: true }),
  );
  if (!Item) return undefined;
  return {
    owner: str(Item.owner),
    versionLabel: str(Item.versionLabel),
    imageDigest: str(Item.imageDigest),
    acquiredAt: str(Item.acquiredAt),
    leaseUntil: str(Item.leaseUntil),
  };
}

/**
 * Remembers that this execution handles `repository@digest` for `target`. EventBridge delivers at
 * least once and re-tagging an image emits another PUSH event, so the first execution wins and
 * later ones are 'duplicate'. The same execution re-running the step is still 'new'. DynamoDB's TTL
 * deletes expired items only eventually (up to days later), so an expired marker counts as absent.
 */
export async function recordPush(
  db: DynamoDBDocumentClient,
  table: string,
  p: {
    repository: string;
    imageDigest: string;
    target: string;
    executionId: string;
    now: Date;
    ttlSeconds: number;
  },
): Promise<'new' | 'duplicate'> {
  const nowEpoch = Math.floor(p.now.getTime() / 1000);
  const first = await writeIf(
    db.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: pushPk(p.repository, p.imageDigest),
          sk: `TARGET#${p.target}`,
          executionId: p.executionId,
          seenAt: p.now.toISOString(),
          expiresAt: nowEpoch + p.ttlSeconds,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR #executionId = :executionId OR #expiresAt < :now',
        ExpressionAttributeNames: { '#executionId': 'executionId', '#expiresAt': 'expiresAt' },
        ExpressionAttributeValues: { ':executionId': p.executionId, ':now': nowEpoch },
      }),
    ),
  );
  return first ? 'new' : 'duplicate';
}

/**
 * Forgets a push, so the same digest can be pushed again: for a deployment that stopped before EB
 * was changed (a missing secret, a bad bundle), re-pushing after the fix must deploy, not be
 * dropped as a duplicate. Only this execution's own marker is removed.
 */
export async function forgetPush(
  db: DynamoDBDocumentClient,
  table: string,
  p: { repository: string; imageDigest: string; target: string; executionId: string },
): Promise<void> {
  await writeIf(
    db.send(
      new DeleteCommand({
        TableName: table,
        Key: { pk: pushPk(p.repository, p.imageDigest), sk: `TARGET#${p.target}` },
        ConditionExpression: '#executionId = :executionId',
        ExpressionAttributeNames: { '#executionId': 'executionId' },
        ExpressionAttributeValues: { ':executionId': p.executionId },
      }),
    ),
  );
}

export async function getLastGood(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
): Promise<LastGood | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: table, Key: { pk: envPk(key), sk: LAST_GOOD_SK }, ConsistentRead: true }),
  );
  if (!Item) return undefined;
  return withoutUndefined({
    versionLabel: str(Item.versionLabel),
    imageDigest: str(Item.imageDigest),
    imagePushedAt: optStr(Item.imagePushedAt),
    deployedAt: str(Item.deployedAt),
    executionId: str(Item.executionId),
  });
}

export async function putLastGood(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  good: LastGood,
): Promise<void> {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: withoutUndefined({
        pk: envPk(key),
        sk: LAST_GOOD_SK,
        versionLabel: good.versionLabel,
        imageDigest: good.imageDigest,
        imagePushedAt: good.imagePushedAt,
        deployedAt: good.deployedAt,
        executionId: good.executionId,
      }),
    }),
  );
}

/**
 * Writes one deployment's history item, keyed by start time and execution so a re-run overwrites
 * rather than duplicates. A RUNNING write never replaces a final outcome: a retried early write
 * must not hide how the deployment ended.
 */
export async function recordDeployment(
  db: DynamoDBDocumentClient,
  table: string,
  entry: HistoryEntry,
): Promise<void> {
  const item = withoutUndefined({
    pk: envPk(entry),
    sk: deploySk(entry.startedAt, entry.executionId),
    target: entry.target,
    trigger: entry.trigger,
    fromVersion: entry.fromVersion,
    toVersion: entry.toVersion,
    imageUri: entry.imageUri || undefined,
    outcome: entry.outcome,
    // Reasons quote EB events and check output: masked on the way in, and again on the way out
    // for rows written before masking existed.
    reason: entry.reason === undefined ? undefined : maskAppText(entry.reason),
    startedAt: entry.startedAt,
    endedAt: entry.endedAt,
    durationSeconds: entry.durationSeconds,
    logTail: entry.logTail && { ...entry.logTail, lines: maskAppText(entry.logTail.lines) },
    imagePushedAt: entry.imagePushedAt,
    rollbackStartedAt: entry.rollbackStartedAt,
    approvedBy: entry.approvedBy,
    approvedAt: entry.approvedAt,
    promotedFrom: entry.promotedFrom,
  });
  try {
    await db.send(
      new PutCommand({
        TableName: table,
        Item: item,
        ...(entry.outcome === 'RUNNING'
          ? {
              ConditionExpression: 'attribute_not_exists(pk) OR #outcome = :running',
              ExpressionAttributeNames: { '#outcome': 'outcome' },
              ExpressionAttributeValues: { ':running': 'RUNNING' },
            }
          : {}),
      }),
    );
  } catch (err) {
    if (!(entry.outcome === 'RUNNING' && isConditionFailed(err))) throw err;
  }
}

/**
 * Every deployment of the environment that started at or after `since` (ISO), oldest first: one
 * range on the sort key (`DEPLOY#<startedAt ISO>#…`), every page read.
 */
export async function listHistorySince(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  since: string,
): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        // '~' sorts after every character of an ISO time and '#': the end of the DEPLOY# range.
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': envPk(key),
          ':from': `${DEPLOY_PREFIX}${since}`,
          ':to': `${DEPLOY_PREFIX}~`,
        },
        ScanIndexForward: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) entries.push(toHistoryEntry(key, item));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return entries;
}

/** The environment's deployments, newest first (sort keys start with the ISO start time). */
export async function listHistory(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  limit = DEFAULT_HISTORY_LIMIT,
): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  if (limit < 1) return entries;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': envPk(key), ':prefix': DEPLOY_PREFIX },
        ScanIndexForward: false,
        Limit: limit - entries.length,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) entries.push(toHistoryEntry(key, item));
    startKey = page.LastEvaluatedKey;
  } while (startKey && entries.length < limit);
  return entries;
}

function toHistoryEntry(key: EnvKey, item: Record<string, unknown>): HistoryEntry {
  const startedAt = str(item.startedAt);
  // The execution id lives only in the sort key: DEPLOY#<startedAt>#<executionId>.
  const executionId = str(item.sk).slice(deploySk(startedAt, '').length);
  return withoutUndefined({
    target: str(item.target),
    application: key.application,
    environment: key.environment,
    executionId,
    trigger: trigger(item.trigger),
    fromVersion: optStr(item.fromVersion),
    toVersion: str(item.toVersion),
    imageUri: optStr(item.imageUri),
    outcome: outcome(item.outcome),
    reason: typeof item.reason === 'string' ? maskAppText(item.reason) : undefined,
    startedAt,
    endedAt: optStr(item.endedAt),
    durationSeconds: typeof item.durationSeconds === 'number' ? item.durationSeconds : undefined,
    logTail: logTailOf(item.logTail),
    imagePushedAt: optStr(item.imagePushedAt),
    rollbackStartedAt: optStr(item.rollbackStartedAt),
    approvedBy: optStr(item.approvedBy),
    approvedAt: optStr(item.approvedAt),
    promotedFrom: optStr(item.promotedFrom),
  });
}

function logTailOf(value: unknown): HistoryEntry['logTail'] {
  if (typeof value !== 'object' || value === null) return undefined;
  const t = value as Record<string, unknown>;
  return typeof t.instanceId === 'string' && typeof t.source === 'string' && typeof t.lines === 'string'
    ? { instanceId: t.instanceId, source: t.source, lines: maskAppText(t.lines) }
    : undefined;
}

/**
 * True when `candidate` was pushed before the image deployed (or deploying) now: a late or
 * redelivered push event must never take an environment back in time. The same digest is not a
 * downgrade (callers treat it as already deployed); unknown or unreadable push times are not
 * evidence of a downgrade.
 */
export function isDowngrade(
  candidate: { imagePushedAt?: string; imageDigest: string },
  current: { imagePushedAt?: string; imageDigest: string } | undefined,
): boolean {
  if (!current || candidate.imageDigest === current.imageDigest) return false;
  if (!candidate.imagePushedAt || !current.imagePushedAt) return false;
  const candidateTime = Date.parse(candidate.imagePushedAt);
  const currentTime = Date.parse(current.imagePushedAt);
  if (Number.isNaN(candidateTime) || Number.isNaN(currentTime)) return false;
  return candidateTime < currentTime;
}

export function isConditionFailed(err: unknown): boolean {
  return err instanceof Error && err.name === 'ConditionalCheckFailedException';
}

/**
 * Awaits a conditional write: true when DynamoDB applied it, false when its condition did not hold
 * (ConditionalCheckFailedException). Any other error is thrown.
 */
export async function writeIf(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function optStr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function trigger(value: unknown): HistoryEntry['trigger'] {
  return value === 'manual' || value === 'rollback' || value === 'promotion' ? value : 'push';
}

const OUTCOMES: readonly HistoryOutcome[] = [
  'SUCCEEDED',
  'ROLLED_BACK',
  'FAILED_BEFORE_DEPLOY',
  'ROLLBACK_FAILED',
  'OVERRIDDEN',
  'NOT_APPROVED',
  'ABORTED',
  'TIMED_OUT',
  'SKIPPED',
  'RUNNING',
];

function outcome(value: unknown): HistoryOutcome {
  return OUTCOMES.find((o) => o === value) ?? 'RUNNING';
}

/** The injected client may not drop undefined attributes (marshallOptions), so items never carry them. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
