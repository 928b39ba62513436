import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { shortDigest } from '../release/version-label.js';
import type { EnvKey } from '../store/deployments.js';
import { getFreeze, getHeld, type HeldPush, isFrozen, releaseHeld } from '../store/freeze.js';
import { executionArnOf } from '../workflow/arns.js';

/**
 * Starts the push a freeze held, as the push it was (the fan-out input of lib/release/request.ts:
 * dedupe, downgrade protection and the lock queue apply), then forgets it. The execution name is
 * derived from the held push, so a retried call finds ExecutionAlreadyExists instead of deploying
 * twice. Used by `ebship unfreeze` and, once a freeze's `until` has passed, by the reconciler.
 */
export async function startHeldPush(
  clients: { db: DynamoDBDocumentClient; sfn: SFNClient },
  table: string,
  stateMachineArn: string,
  key: EnvKey,
  held: HeldPush,
): Promise<{ executionArn: string; name: string }> {
  const stamp = held.heldAt.replace(/[^0-9]/g, '').slice(0, 14);
  const name = `${held.target.slice(0, 40)}-unfrozen-${shortDigest(held.imageDigest)}-${stamp}`;
  const executionArn = executionArnOf(stateMachineArn, name);
  try {
    await clients.sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name,
        input: JSON.stringify({
          target: held.target,
          ...(held.imageTag ? { imageTag: held.imageTag } : {}),
          imageDigest: held.imageDigest,
          ...(held.promotedFrom
            ? { trigger: 'promotion', promotedFrom: held.promotedFrom }
            : { trigger: 'push' }),
        }),
      }),
    );
  } catch (err) {
    if ((err as Error).name !== 'ExecutionAlreadyExists') throw err;
  }
  await releaseHeld(clients.db, table, key, held.executionId);
  return { executionArn, name };
}

/** The reconciler's part: a held push whose freeze ended by its `until` is started. */
export async function releaseExpiredHold(
  clients: { db: DynamoDBDocumentClient; sfn: SFNClient },
  table: string,
  stateMachineArn: string,
  key: EnvKey,
  now: Date,
): Promise<{ released: string; executionArn: string } | undefined> {
  const held = await getHeld(clients.db, table, key);
  if (!held) return undefined;
  if (isFrozen(await getFreeze(clients.db, table, key), now)) return undefined;
  const started = await startHeldPush(clients, table, stateMachineArn, key, held);
  return { released: held.versionLabel, executionArn: started.executionArn };
}
