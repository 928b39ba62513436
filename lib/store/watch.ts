import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type EnvKey, envPk, isConditionFailed, writeIf } from './deployments.js';

/**
 * The `WATCH` item of an environment under the event-driven health watch (issue 13): the Step
 * Functions task token its execution waits on, for the EB event that wakes it. One item per
 * environment (the lock admits one execution), one wake per token: taking the token is a
 * conditional write, so two copies of an event, or an event and a retried registration, cannot both
 * wake the same wait.
 */

export interface WatchItem {
  /** The token of the wait in progress; absent between a wake and the next registration. */
  taskToken?: string;
  executionId: string;
  phase: 'deploy' | 'rollback';
  expectedVersion: string;
  registeredAt: string;
  /** DynamoDB TTL (epoch seconds); readers ignore an expired item TTL has not deleted yet. */
  expiresAt: number;
  /** The token last taken for a wake: never stored again (a registration retried after its wake). */
  wokenToken?: string;
  /** An EB event came while no token was stored (during a read): the next wait wakes at once. */
  missedAt?: string;
  /**
   * The EventBridge events acted on during this watch (a DynamoDB string set): the same event
   * delivered again does nothing, even after a newer event (delivery is at least once, in no order).
   */
  seenEventIds?: Set<string>;
}

const WATCH_SK = 'WATCH';
/** As long as an execution may run (the state machine's TimeoutSeconds): never outlives its wait. */
const WATCH_TTL_SECONDS = 6 * 3600;

const keyOf = (key: EnvKey) => ({ pk: envPk(key), sk: WATCH_SK });

export async function getWatch(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  now = new Date(),
): Promise<WatchItem | undefined> {
  const out = await db.send(new GetCommand({ TableName: table, Key: keyOf(key), ConsistentRead: true }));
  const item = out.Item as WatchItem | undefined;
  if (!item || item.expiresAt * 1000 <= now.getTime()) return undefined;
  return item;
}

/**
 * Stores the token of a new wait. Idempotent: Step Functions may run the registration again (a
 * Lambda retry) with the same token, which is stored again unless it was already woken. Returns
 * when an EB event came for this execution while no token was stored (it must wake at once), or
 * `woken` when this token was already used.
 */
export async function storeToken(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  watch: Pick<WatchItem, 'executionId' | 'phase' | 'expectedVersion'> & { taskToken: string },
  now = new Date(),
): Promise<{ woken: true } | { woken: false; missedAt?: string }> {
  try {
    const out = await db.send(
      new UpdateCommand({
        TableName: table,
        Key: keyOf(key),
        UpdateExpression:
          'SET taskToken = :t, executionId = :e, #phase = :p, expectedVersion = :v, registeredAt = :now, expiresAt = :exp REMOVE missedAt',
        ConditionExpression: 'attribute_not_exists(wokenToken) OR wokenToken <> :t',
        // Names that may be DynamoDB reserved words go through placeholders.
        ExpressionAttributeNames: { '#phase': 'phase' },
        ExpressionAttributeValues: {
          ':t': watch.taskToken,
          ':e': watch.executionId,
          ':p': watch.phase,
          ':v': watch.expectedVersion,
          ':now': now.toISOString(),
          ':exp': Math.floor(now.getTime() / 1000) + WATCH_TTL_SECONDS,
        },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const old = out.Attributes as Partial<WatchItem> | undefined;
    const missedAt = old?.executionId === watch.executionId ? old.missedAt : undefined;
    return missedAt ? { woken: false, missedAt } : { woken: false };
  } catch (err) {
    if (isConditionFailed(err)) return { woken: true };
    throw err;
  }
}

/** Takes the token for one wake; false when it is gone (another copy of the event, or a newer wait). */
export async function takeToken(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  taskToken: string,
  /** The EventBridge event that wakes it; none when the registration wakes itself. */
  eventId?: string,
): Promise<boolean> {
  return writeIf(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: keyOf(key),
        UpdateExpression: `SET wokenToken = :t REMOVE taskToken${eventId ? ' ADD seenEventIds :id' : ''}`,
        ConditionExpression: 'taskToken = :t',
        ExpressionAttributeValues: { ':t': taskToken, ...(eventId ? { ':id': new Set([eventId]) } : {}) },
      }),
    ),
  );
}

/**
 * Puts a taken token back after a SendTaskSuccess whose outcome is unknown (no answer): the next
 * event tries again, and if the wake did arrive, Step Functions then says the task is closed.
 */
export async function restoreToken(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  taskToken: string,
  /** The event whose wake is unknown: forgotten, so its next delivery tries again. */
  eventId?: string,
): Promise<void> {
  await writeIf(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: keyOf(key),
        UpdateExpression: `SET taskToken = :t REMOVE wokenToken${eventId ? ' DELETE seenEventIds :id' : ''}`,
        ConditionExpression: 'attribute_not_exists(taskToken) AND wokenToken = :t',
        ExpressionAttributeValues: { ':t': taskToken, ...(eventId ? { ':id': new Set([eventId]) } : {}) },
      }),
    ),
  );
}

/**
 * Notes an event that came while no token was stored (the execution is reading EB between two
 * waits). False when a token is stored meanwhile (wake it instead), when the event was already
 * acted on, or when nothing watches the environment.
 */
export async function noteMissedEvent(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  eventId: string,
  at: string,
): Promise<boolean> {
  return writeIf(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: keyOf(key),
        UpdateExpression: 'SET missedAt = :at ADD seenEventIds :ids',
        ConditionExpression:
          'attribute_exists(pk) AND attribute_not_exists(taskToken) AND NOT contains(seenEventIds, :id)',
        ExpressionAttributeValues: { ':at': at, ':id': eventId, ':ids': new Set([eventId]) },
      }),
    ),
  );
}

/**
 * Deletes the item, only if it is still the one the caller saw: holding `taskToken` (a stale token
 * Step Functions no longer knows), or `wokenToken`, or registered by `executionId` (an execution
 * that ended). A newer registration is never deleted.
 */
export async function deleteWatch(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  when: { taskToken: string } | { wokenToken: string } | { executionId: string },
): Promise<boolean> {
  const [attribute, value] = Object.entries(when)[0] as [string, string];
  return writeIf(
    db.send(
      new DeleteCommand({
        TableName: table,
        Key: keyOf(key),
        ConditionExpression: `#a = :v${attribute === 'wokenToken' ? ' AND attribute_not_exists(taskToken)' : ''}`,
        ExpressionAttributeNames: { '#a': attribute },
        ExpressionAttributeValues: { ':v': value },
      }),
    ),
  );
}
