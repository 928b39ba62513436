import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type EnvKey, envPk, writeIf } from './deployments.js';

/**
 * Freezes (issue 14): `ebship freeze <target>` stops automatic deploys to an environment until
 * `ebship unfreeze` (or the freeze's `until`). A push that arrives meanwhile is held, newest first,
 * and deployed when the freeze ends. Items, on the environment's partition:
 *   FREEZE  reason, by, frozenAt, until?
 *   HELD    the newest push held by the freeze: enough to start its deploy again
 */

const FREEZE_SK = 'FREEZE';
const HELD_SK = 'HELD';

export interface Freeze {
  reason: string;
  /** Who froze it: the caller's IAM identity as STS reports it, or what the CLI could tell. */
  by: string;
  frozenAt: string;
  /** ISO time the freeze ends by itself; absent: until `ebship unfreeze`. */
  until?: string;
}

export interface HeldPush {
  target: string;
  repository: string;
  imageDigest: string;
  imageTag?: string;
  imagePushedAt?: string;
  versionLabel: string;
  executionId: string;
  heldAt: string;
  /** A held promotion starts again as one (and asks again for its approval, if the target needs one). */
  promotedFrom?: { target: string; executionId: string };
}

/** A freeze is in force until its `until` (when it has one). */
export function isFrozen(freeze: Freeze | undefined, now: Date): freeze is Freeze {
  return freeze !== undefined && (freeze.until === undefined || Date.parse(freeze.until) > now.getTime());
}

export async function getFreeze(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
): Promise<Freeze | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: table, Key: { pk: envPk(key), sk: FREEZE_SK }, ConsistentRead: true }),
  );
  if (!Item || typeof Item.reason !== 'string') return undefined;
  return {
    reason: Item.reason,
    by: typeof Item.by === 'string' ? Item.by : 'unknown',
    frozenAt: typeof Item.frozenAt === 'string' ? Item.frozenAt : '',
    ...(typeof Item.until === 'string' ? { until: Item.until } : {}),
  };
}

/** Freezes the environment (a second freeze replaces the first: its reason and end are the news). */
export async function putFreeze(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  freeze: Freeze,
): Promise<void> {
  await db.send(new PutCommand({ TableName: table, Item: { pk: envPk(key), sk: FREEZE_SK, ...freeze } }));
}

/** Ends the freeze; returns the one that was in place, if any. */
export async function deleteFreeze(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
): Promise<Freeze | undefined> {
  const previous = await getFreeze(db, table, key);
  await db.send(new DeleteCommand({ TableName: table, Key: { pk: envPk(key), sk: FREEZE_SK } }));
  return previous;
}

/**
 * Holds a push while the environment is frozen. The newest push wins: one pushed earlier than the
 * push already held is not kept ('older'), as the deploy after the freeze would only be superseded.
 */
export async function holdPush(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  push: HeldPush,
): Promise<'held' | 'older'> {
  const kept = await writeIf(
    db.send(
      new PutCommand({
        TableName: table,
        Item: { pk: envPk(key), sk: HELD_SK, ...push },
        ...(push.imagePushedAt
          ? {
              ConditionExpression:
                'attribute_not_exists(pk) OR attribute_not_exists(imagePushedAt) OR imagePushedAt <= :pushed',
              ExpressionAttributeValues: { ':pushed': push.imagePushedAt },
            }
          : {}),
      }),
    ),
  );
  return kept ? 'held' : 'older';
}

export async function getHeld(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
): Promise<HeldPush | undefined> {
  const { Item } = await db.send(
    new GetCommand({ TableName: table, Key: { pk: envPk(key), sk: HELD_SK }, ConsistentRead: true }),
  );
  if (!Item || typeof Item.imageDigest !== 'string') return undefined;
  const { pk: _pk, sk: _sk, ...held } = Item;
  return held as HeldPush;
}

/** Removes the held push, only if it is still the one read (a newer hold stays). */
export async function releaseHeld(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  executionId: string,
): Promise<boolean> {
  return writeIf(
    db.send(
      new DeleteCommand({
        TableName: table,
        Key: { pk: envPk(key), sk: HELD_SK },
        ConditionExpression: 'executionId = :id',
        ExpressionAttributeValues: { ':id': executionId },
      }),
    ),
  );
}
