import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { type EnvKey, envPk, isConditionFailed, writeIf } from './deployments.js';

/**
 * The `APPROVAL` item of an environment (issue 14): the promotion waiting for `ebship approve` /
 * `ebship reject`, with the Step Functions task token its WaitForApproval Task waits on. One item per
 * environment: a newer promotion replaces an older one that still waits (the older is answered
 * ApprovalSuperseded). The token is a credential to move the execution on: it is read by the CLI to
 * answer, and never printed, logged or sent in an alert.
 */
export interface ApprovalItem {
  /** The token of the wait in progress (the latest attempt's: a retried Task gets a new one). */
  taskToken: string;
  executionId: string;
  /** ISO start of the execution: orders two promotions of one target (the newer supersedes). */
  startedAt: string;
  target: string;
  versionLabel: string;
  imageDigest: string;
  imageTag?: string;
  promotedFrom?: { target: string; executionId: string };
  requestedAt: string;
  /** When the wait times out (promote.timeoutSeconds after requestedAt), epoch seconds; also the item's TTL. */
  expiresAt: number;
  timeoutSeconds: number;
  /** The request's one alert: claimed (sending), then sent. */
  alertStatus?: 'sending' | 'sent';
  alertClaimedAt?: string;
  messageIds?: string[];
  /**
   * The answer `ebship approve` / `ebship reject` gave, kept on the item (not deleted) until it
   * expires: a retried WaitForApproval (Step Functions ran the Lambda again after the answered
   * attempt failed) forwards it to its new token instead of asking on-call a second time.
   */
  answer?: ApprovalAnswer;
}

/** What answered a wait: the exact SendTaskSuccess output or SendTaskFailure error and cause. */
export type ApprovalAnswer = {
  by: string;
  at: string;
  /** Set once a SendTask* call with this answer was accepted (by the CLI, or a retry forwarding it). */
  delivered?: boolean;
} & ({ kind: 'approved'; output: string } | { kind: 'rejected'; error: string; cause: string });

const APPROVAL_SK = 'APPROVAL';
const keyOf = (key: EnvKey) => ({ pk: envPk(key), sk: APPROVAL_SK });

/**
 * The approval pending on the environment, if any. An expired one (TTL not yet applied) and an
 * answered one count as none unless asked for.
 */
export async function getApproval(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  now = new Date(),
  options: { includeExpired?: boolean; includeAnswered?: boolean } = {},
): Promise<ApprovalItem | undefined> {
  const out = await db.send(new GetCommand({ TableName: table, Key: keyOf(key), ConsistentRead: true }));
  const item = out.Item as ApprovalItem | undefined;
  if (!item || typeof item.taskToken !== 'string') return undefined;
  if (!options.includeExpired && item.expiresAt * 1000 <= now.getTime()) return undefined;
  if (!options.includeAnswered && item.answer) return undefined;
  return item;
}

/**
 * Records `answer` on the execution's item before it is sent, so that a retried wait can forward
 * it. Refused (undefined) when the item is no longer this execution's, or holds an answer of the
 * other kind (approved, then rejected). Returns the item as stored.
 */
export async function recordAnswer(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  executionId: string,
  answer: ApprovalAnswer,
): Promise<ApprovalItem | undefined> {
  return updatedItem(db, {
    TableName: table,
    Key: keyOf(key),
    UpdateExpression: 'SET answer = if_not_exists(answer, :a)',
    ConditionExpression: 'executionId = :e AND (attribute_not_exists(answer) OR answer.kind = :k)',
    ExpressionAttributeValues: { ':a': answer, ':e': executionId, ':k': answer.kind },
  });
}

/** A conditional UpdateItem: the item as stored after it, or undefined when the condition failed. */
async function updatedItem(
  db: DynamoDBDocumentClient,
  input: Omit<UpdateCommandInput, 'ReturnValues'>,
): Promise<ApprovalItem | undefined> {
  try {
    const out = await db.send(new UpdateCommand({ ...input, ReturnValues: 'ALL_NEW' }));
    return out.Attributes as ApprovalItem | undefined;
  } catch (err) {
    if (isConditionFailed(err)) return undefined;
    throw err;
  }
}

/** A SendTask* call carrying the execution's recorded answer was accepted. */
export async function markDelivered(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  executionId: string,
): Promise<void> {
  await writeIf(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: keyOf(key),
        UpdateExpression: 'SET answer.delivered = :true',
        ConditionExpression: 'executionId = :e AND attribute_exists(answer)',
        ExpressionAttributeValues: { ':e': executionId, ':true': true },
      }),
    ),
  );
}

/**
 * Stores a new request, replacing `replacing` (the execution whose item was read: superseded or
 * expired) or nothing. False when the item changed in between (read again and decide again).
 */
export async function putApproval(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  item: Omit<ApprovalItem, 'alertStatus' | 'alertClaimedAt' | 'messageIds'>,
  replacing: string | undefined,
): Promise<boolean> {
  return writeIf(
    db.send(
      new PutCommand({
        TableName: table,
        Item: { ...keyOf(key), ...withoutUndefined(item) },
        ConditionExpression: replacing ? '#executionId = :old' : 'attribute_not_exists(pk)',
        ...(replacing
          ? {
              ExpressionAttributeNames: { '#executionId': 'executionId' },
              ExpressionAttributeValues: { ':old': replacing },
            }
          : {}),
      }),
    ),
  );
}

/**
 * The same execution asks again (Step Functions ran the Lambda again: a retry gets a new token): the
 * item keeps its request time, expiry and alert, and takes the new token. False when the item is no
 * longer this execution's (a newer promotion replaced it).
 */
export async function renewToken(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  executionId: string,
  taskToken: string,
): Promise<ApprovalItem | undefined> {
  return updatedItem(db, {
    TableName: table,
    Key: keyOf(key),
    UpdateExpression: 'SET taskToken = :t',
    ConditionExpression: 'executionId = :e',
    ExpressionAttributeValues: { ':t': taskToken, ':e': executionId },
  });
}

/**
 * Claims the request's one alert: only the first claim of the execution publishes. A claim left
 * `sending` by a run that died mid-publish is taken again after `staleSeconds` (as the deploy's own
 * alert claim, lib/store/ownership.ts).
 */
export async function claimApprovalAlert(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  executionId: string,
  now: Date,
  staleSeconds = 120,
): Promise<boolean> {
  const stale = new Date(now.getTime() - staleSeconds * 1000).toISOString();
  return writeIf(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: keyOf(key),
        UpdateExpression: 'SET alertStatus = :sending, alertClaimedAt = :now',
        ConditionExpression:
          'executionId = :e AND (attribute_not_exists(alertStatus) OR (alertStatus = :sending AND alertClaimedAt < :stale))',
        ExpressionAttributeValues: {
          ':sending': 'sending',
          ':now': now.toISOString(),
          ':e': executionId,
          ':stale': stale,
        },
      }),
    ),
  );
}

/** The alert went out (`messageIds`), or (`undefined`) publishing failed and the claim is given back. */
export async function settleApprovalAlert(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  executionId: string,
  messageIds: string[] | undefined,
): Promise<void> {
  await writeIf(
    db.send(
      new UpdateCommand({
        TableName: table,
        Key: keyOf(key),
        UpdateExpression: messageIds
          ? 'SET alertStatus = :sent, messageIds = :ids'
          : 'REMOVE alertStatus, alertClaimedAt',
        ConditionExpression: 'executionId = :e',
        ExpressionAttributeValues: {
          ':e': executionId,
          ...(messageIds ? { ':sent': 'sent', ':ids': messageIds } : {}),
        },
      }),
    ),
  );
}

/**
 * Deletes the item only while it is still the one meant: holding `taskToken` (its wait was
 * answered), or belonging to `executionId` (that execution ended without an answer: stopped or
 * timed out from outside). A newer request (a retry's token, another promotion) is never deleted.
 */
export async function deleteApproval(
  db: DynamoDBDocumentClient,
  table: string,
  key: EnvKey,
  only: { taskToken: string } | { executionId: string },
): Promise<boolean> {
  const [name, value] =
    'taskToken' in only ? ['taskToken', only.taskToken] : ['executionId', only.executionId];
  return writeIf(
    db.send(
      new DeleteCommand({
        TableName: table,
        Key: keyOf(key),
        ConditionExpression: '#attr = :value',
        ExpressionAttributeNames: { '#attr': name },
        ExpressionAttributeValues: { ':value': value },
      }),
    ),
  );
}

/** The item as people may see it: everything but the token. */
export function withoutToken(item: ApprovalItem): Omit<ApprovalItem, 'taskToken'> {
  const { taskToken: _token, ...rest } = item;
  return rest;
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
