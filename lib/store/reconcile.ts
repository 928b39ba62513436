import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { type EnvKey, envPk, isConditionFailed, pushPk, writeIf } from './deployments.js';

/**
 * What the scheduled reconciler (lib/steps/reconcile.ts) remembers, in ebship's one table:
 * - per target, the newest image it has already decided about (`RECONCILE#<target>`), and since
 *   when it runs at all: it only ever starts deploys of images pushed after its first run;
 * - per environment, the unexpected version label on-call was alerted about (`DRIFT`), so a
 *   drift alerts once per label, not every five minutes.
 */

export interface ReconcileMark {
  /** The reconciler's first run for this target (ISO): older pushes are never its business. */
  since: string;
  /** The newest image it decided about, and what it decided. */
  imageDigest?: string;
  imagePushedAt?: string;
  decision?: string;
  decidedAt?: string;
  /** The execution it started for that image, if it did. */
  executionArn?: string;
}

export interface DriftItem {
  /** The label the environment runs that ebship did not deploy. */
  versionLabel: string;
  /** ebship's record (LAST_GOOD) when the drift was seen. */
  recordedLabel: string;
  status: 'sending' | 'sent' | 'covered';
  claimedAt: string;
  token: string;
}

const DRIFT_SK = 'DRIFT';

function markSk(target: string): string {
  return `RECONCILE#${target}`;
}

export async function getReconcileMark(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  target: string,
): Promise<ReconcileMark | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: table, Key: { pk: envPk(key), sk: markSk(target) }, ConsistentRead: true }),
  );
  if (!Item || typeof Item.since !== 'string') return undefined;
  const opt = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return withoutUndefined({
    since: Item.since,
    imageDigest: opt(Item.imageDigest),
    imagePushedAt: opt(Item.imagePushedAt),
    decision: opt(Item.decision),
    decidedAt: opt(Item.decidedAt),
    executionArn: opt(Item.executionArn),
  });
}

/** Writes the mark; `since` never moves once set (if_not_exists), whoever writes first. */
export async function putReconcileMark(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  target: string,
  mark: ReconcileMark,
): Promise<void> {
  const fields = withoutUndefined({
    imageDigest: mark.imageDigest,
    imagePushedAt: mark.imagePushedAt,
    decision: mark.decision,
    decidedAt: mark.decidedAt,
    executionArn: mark.executionArn,
  });
  const names: Record<string, string> = { '#since': 'since' };
  const values: Record<string, unknown> = { ':since': mark.since };
  const sets = ['#since = if_not_exists(#since, :since)'];
  for (const [name, value] of Object.entries(fields)) {
    names[`#${name}`] = name;
    values[`:${name}`] = value;
    sets.push(`#${name} = :${name}`);
  }
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: envPk(key), sk: markSk(target) },
      UpdateExpression: `SET ${sets.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

export async function getDrift(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
): Promise<DriftItem | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: table, Key: { pk: envPk(key), sk: DRIFT_SK }, ConsistentRead: true }),
  );
  if (!Item || typeof Item.versionLabel !== 'string') return undefined;
  return {
    versionLabel: Item.versionLabel,
    recordedLabel: String(Item.recordedLabel ?? ''),
    status: Item.status === 'sent' || Item.status === 'covered' ? Item.status : 'sending',
    claimedAt: String(Item.claimedAt ?? ''),
    token: String(Item.token ?? ''),
  };
}

/**
 * Claims the one alert for an unexpected label: true when this run must send it. A claim already
 * made for the same label wins, unless it was left 'sending' for `staleSeconds` by a run that died
 * mid-publish (an alert sent twice is better than none). `covered` records the label without an
 * alert: another alert (an OVERRIDDEN or ROLLBACK FAILED deploy) already told on-call.
 */
export async function claimDrift(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  drift: { versionLabel: string; recordedLabel: string; covered: boolean },
  now: Date,
  staleSeconds = 120,
): Promise<{ claimed: boolean; token: string }> {
  const token = randomUUID();
  const stale = new Date(now.getTime() - staleSeconds * 1000).toISOString();
  const written = await writeIf(
    db.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: envPk(key),
          sk: DRIFT_SK,
          versionLabel: drift.versionLabel,
          recordedLabel: drift.recordedLabel,
          status: drift.covered ? 'covered' : 'sending',
          claimedAt: now.toISOString(),
          token,
        },
        ConditionExpression:
          'attribute_not_exists(pk) OR #label <> :label OR (#status = :sending AND #claimedAt < :stale)',
        ExpressionAttributeNames: {
          '#label': 'versionLabel',
          '#status': 'status',
          '#claimedAt': 'claimedAt',
        },
        ExpressionAttributeValues: { ':label': drift.versionLabel, ':sending': 'sending', ':stale': stale },
      }),
    ),
  );
  if (!written) return { claimed: false, token };
  // The SDK may have sent the put twice (a lost reply): only our own token is our claim.
  const mine = await getDrift(db, table, key);
  return { claimed: mine?.token === token, token };
}

export async function markDriftSent(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  token: string,
): Promise<void> {
  await writeIf(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: envPk(key), sk: DRIFT_SK },
        UpdateExpression: 'SET #status = :sent',
        ConditionExpression: '#token = :token',
        ExpressionAttributeNames: { '#status': 'status', '#token': 'token' },
        ExpressionAttributeValues: { ':sent': 'sent', ':token': token },
      }),
    ),
  );
}

/**
 * Removes the drift record: after a publish failed (the next run tries again, `token`), or once the
 * environment is back on ebship's record (`versionLabel`). Returns the item removed, if any.
 */
export async function clearDrift(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  only: { token: string } | { versionLabel: string },
): Promise<DriftItem | undefined> {
  const [attr, value] = 'token' in only ? ['token', only.token] : ['versionLabel', only.versionLabel];
  try {
    const out = await db.send(
      new DeleteCommand({
        TableName: table,
        Key: { pk: envPk(key), sk: DRIFT_SK },
        ConditionExpression: '#attr = :value',
        ExpressionAttributeNames: { '#attr': attr },
        ExpressionAttributeValues: { ':value': value },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = out.Attributes;
    if (!old || typeof old.versionLabel !== 'string') return undefined;
    return {
      versionLabel: old.versionLabel,
      recordedLabel: String(old.recordedLabel ?? ''),
      status: old.status === 'sent' || old.status === 'covered' ? old.status : 'sending',
      claimedAt: String(old.claimedAt ?? ''),
      token: String(old.token ?? ''),
    };
  } catch (err) {
    if (isConditionFailed(err)) return undefined;
    throw err;
  }
}

/** Reads a push marker (ResolveRelease/AcquireLock's PUSH# item) without claiming it. */
export async function getPushMarker(
  db: DynamoDBDocumentClient,
  table: string,
  p: { repository: string; imageDigest: string; target: string },
  now: Date,
): Promise<{ executionId: string } | undefined> {
  const { Item } = await db.send(
    new GetCommand({
      TableName: table,
      Key: { pk: pushPk(p.repository, p.imageDigest), sk: `TARGET#${p.target}` },
      ConsistentRead: true,
    }),
  );
  if (!Item || typeof Item.executionId !== 'string') return undefined;
  // TTL deletes late: an expired marker counts as absent, as recordPush counts it.
  if (typeof Item.expiresAt === 'number' && Item.expiresAt < Math.floor(now.getTime() / 1000))
    return undefined;
  return { executionId: Item.executionId };
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
