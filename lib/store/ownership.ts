import { randomUUID } from 'node:crypto';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LockLost } from '../errors.js';
import { type EnvKey, envPk, isConditionFailed, writeIf } from './deployments.js';

/**
 * What an execution may do only while it holds its environment's lock. Every step that changes EB
 * or the table proves ownership first, with a conditional write: an execution redriven after it was
 * stopped, or one whose lock another execution took over, stops there without touching anything.
 */

/** An UpdateEnvironment this execution sent whose effect is not yet known (a lost reply, a 5xx). */
export interface PendingUpdate {
  /** ISO time just before the call: EB events after it may be the update's. */
  requestedAt: string;
  /** The version the environment ran before the call. */
  fromVersion?: string;
}

export interface OwnedLock {
  owner: string;
  /** Version label → the UpdateEnvironment sent for it, until its outcome is known. */
  pending: Record<string, PendingUpdate>;
}

const LOCK_SK = 'LOCK';

function lostMessage(key: EnvKey, owner: string): string {
  return (
    `execution ${owner} no longer holds the lock on ${key.application}/${key.environment} ` +
    '(it was stopped, timed out or redriven, and its lock was released or taken over): ' +
    'it changes nothing. Start a new deployment if this one is still wanted'
  );
}

/**
 * Proves `owner` holds the lock, and optionally records or clears a pending UpdateEnvironment in the
 * same conditional write. Throws LockLost when another execution holds it, or nobody does.
 */
export async function proveLock(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  owner: string,
  change: { pending?: { label: string; update: PendingUpdate }; settled?: string } = {},
): Promise<OwnedLock> {
  const write = async (update: string, names: Record<string, string>, values: Record<string, unknown>) => {
    const out = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: { pk: envPk(key), sk: LOCK_SK },
        UpdateExpression: update,
        ConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner', '#pending': 'pending', ...names },
        ExpressionAttributeValues: { ':owner': owner, ...values },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return out.Attributes;
  };
  try {
    // DynamoDB cannot SET a path inside a map that does not exist: make sure the map exists first.
    let item = await write('SET #pending = if_not_exists(#pending, :empty)', {}, { ':empty': {} });
    if (change.pending) {
      item = await write(
        'SET #pending.#label = :update',
        { '#label': change.pending.label },
        { ':update': change.pending.update },
      );
    } else if (change.settled) {
      item = await write('REMOVE #pending.#label', { '#label': change.settled }, {});
    }
    return { owner, pending: readPending(item?.pending) };
  } catch (err) {
    if (isConditionFailed(err)) throw new LockLost(lostMessage(key, owner));
    throw err;
  }
}

function readPending(value: unknown): Record<string, PendingUpdate> {
  if (!value || typeof value !== 'object') return {};
  const out: Record<string, PendingUpdate> = {};
  for (const [label, v] of Object.entries(value as Record<string, unknown>)) {
    const p = v as { requestedAt?: unknown; fromVersion?: unknown };
    if (typeof p?.requestedAt !== 'string') continue;
    out[label] = {
      requestedAt: p.requestedAt,
      ...(typeof p.fromVersion === 'string' ? { fromVersion: p.fromVersion } : {}),
    };
  }
  return out;
}

/**
 * Claims the one alert of an execution. Step Functions may run the notify step again after it
 * published (a Lambda retry after the handler returned); only the first claim publishes. A claim
 * left 'sending' by a run that died mid-publish is taken again after `staleSeconds`: an alert
 * published twice is better than none.
 */
export async function claimAlert(
  db: DynamoDBDocumentClient,
  table: string,
  executionId: string,
  now: Date,
  staleSeconds = 120,
): Promise<boolean> {
  const stale = new Date(now.getTime() - staleSeconds * 1000).toISOString();
  // The SDK may send the put again after its first attempt took effect (a 5xx or a lost reply):
  // the token tells our own claim from another run's.
  const token = randomUUID();
  const claimed = await writeIf(
    db.send(
      new PutCommand({
        TableName: table,
        Item: {
          pk: alertPk(executionId),
          sk: 'ALERT',
          status: 'sending',
          token,
          claimedAt: now.toISOString(),
          // Kept as long as Step Functions keeps the execution (90 days).
          expiresAt: Math.floor(now.getTime() / 1000) + 90 * 86400,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR (#status = :sending AND #claimedAt < :stale)',
        ExpressionAttributeNames: { '#status': 'status', '#claimedAt': 'claimedAt' },
        ExpressionAttributeValues: { ':sending': 'sending', ':stale': stale },
      }),
    ),
  );
  if (claimed) return true;
  const { Item } = await db.send(
    new GetCommand({
      TableName: table,
      Key: { pk: alertPk(executionId), sk: 'ALERT' },
      ConsistentRead: true,
    }),
  );
  return Item?.token === token;
}

export async function markAlertSent(
  db: DynamoDBDocumentClient,
  table: string,
  executionId: string,
  messageIds: string[],
): Promise<void> {
  await db.send(
    new UpdateCommand({
      TableName: table,
      Key: { pk: alertPk(executionId), sk: 'ALERT' },
      UpdateExpression: 'SET #status = :sent, #messageIds = :ids',
      ExpressionAttributeNames: { '#status': 'status', '#messageIds': 'messageIds' },
      ExpressionAttributeValues: { ':sent': 'sent', ':ids': messageIds },
    }),
  );
}

/** Gives the claim back when publishing failed, so the state machine's retry can publish. */
export async function releaseAlertClaim(
  db: DynamoDBDocumentClient,
  table: string,
  executionId: string,
): Promise<void> {
  await writeIf(
    db.send(
      new DeleteCommand({
        TableName: table,
        Key: { pk: alertPk(executionId), sk: 'ALERT' },
        ConditionExpression: '#status = :sending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':sending': 'sending' },
      }),
    ),
  );
}

function alertPk(executionId: string): string {
  return `EXEC#${executionId}`;
}

/** A push waiting for its environment: only the newest waiting push of an environment deploys next. */
export interface Waiter {
  executionId: string;
  target: string;
  versionLabel: string;
  imagePushedAt?: string;
  since: string;
}

const NEXT_SK = 'NEXT';

/**
 * Claims the environment's next turn for a waiting push. The newest push wins (push times compare as
 * ISO strings): a claim succeeds when nobody waits, when `me` already waits, or when the waiting push
 * is older than mine. Otherwise the waiting, newer push is returned and `me` is superseded.
 */
export async function claimNextTurn(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  me: Waiter,
): Promise<{ mine: true } | { mine: false; by: Waiter }> {
  const claimed = await writeIf(
    db.send(
      new PutCommand({
        TableName: table,
        Item: { pk: envPk(key), sk: NEXT_SK, ...me, imagePushedAt: me.imagePushedAt ?? '' },
        ConditionExpression: 'attribute_not_exists(pk) OR #executionId = :me OR #imagePushedAt < :pushedAt',
        ExpressionAttributeNames: { '#executionId': 'executionId', '#imagePushedAt': 'imagePushedAt' },
        ExpressionAttributeValues: { ':me': me.executionId, ':pushedAt': me.imagePushedAt ?? '' },
      }),
    ),
  );
  if (claimed) return { mine: true };
  const by = await getNextTurn(db, table, key);
  // Released between the put and the read: try once more on the next poll.
  return by ? { mine: false, by } : { mine: true };
}

export async function getNextTurn(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
): Promise<Waiter | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: table, Key: { pk: envPk(key), sk: NEXT_SK }, ConsistentRead: true }),
  );
  if (!Item || typeof Item.executionId !== 'string') return undefined;
  return {
    executionId: Item.executionId,
    target: String(Item.target ?? ''),
    versionLabel: String(Item.versionLabel ?? ''),
    ...(Item.imagePushedAt ? { imagePushedAt: String(Item.imagePushedAt) } : {}),
    since: String(Item.since ?? ''),
  };
}

/** Gives up the next turn once `executionId` took the lock (or stopped waiting). */
export async function releaseNextTurn(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  executionId: string,
): Promise<void> {
  await writeIf(
    db.send(
      new DeleteCommand({
        TableName: table,
        Key: { pk: envPk(key), sk: NEXT_SK },
        ConditionExpression: '#executionId = :me',
        ExpressionAttributeNames: { '#executionId': 'executionId' },
        ExpressionAttributeValues: { ':me': executionId },
      }),
    ),
  );
}
