import type { SFNClient } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Target } from '../../lib/config/schema.js';
import { envPk, getLock, type LockItem } from '../../lib/store/deployments.js';
import { describeExecution, executionName, runningExecutions } from './executions.js';

/** Why a deploy or rollback of an environment must not start now. */
export interface Busy {
  executionArn: string;
  executionName: string;
  /** RUNNING, or the status of an execution that died holding the lock. */
  status: string;
  startedAt?: string;
  versionLabel?: string;
  lock?: LockItem;
  /** True when the lock's holder is no longer running but its lease has not run out. */
  staleLock: boolean;
}

/**
 * Looks for another execution working on `target`'s environment: the lock item first (what the
 * state machine itself checks), then the running executions whose input names the target or its
 * repository (one that has not reached AcquireLock yet). The state machine would wait for the
 * lock anyway; telling the user now beats a deploy that sits in AcquireLock for half an hour.
 */
export async function findBusy(
  clients: { sfn: SFNClient; db: DynamoDBDocumentClient },
  p: { table: string; stateMachineArn: string; targetName: string; target: Target; now: Date },
): Promise<Busy | undefined> {
  const lock = await getLock(clients.db, p.table, p.target);
  if (lock && lock.leaseUntil >= p.now.toISOString()) {
    const holder = await describeExecution(clients.sfn, lock.owner);
    return {
      executionArn: lock.owner,
      executionName: executionName(lock.owner),
      status: holder?.status ?? 'UNKNOWN',
      startedAt: holder?.startDate?.toISOString() ?? lock.acquiredAt,
      versionLabel: lock.versionLabel,
      lock,
      staleLock: holder?.status !== 'RUNNING',
    };
  }
  for (const item of (await runningExecutions(clients.sfn, p.stateMachineArn)).slice(0, 50)) {
    if (!item.executionArn) continue;
    const exec = await describeExecution(clients.sfn, item.executionArn);
    if (exec?.status !== 'RUNNING' || !inputConcerns(exec.input, p.targetName, p.target)) continue;
    return {
      executionArn: item.executionArn,
      executionName: item.name ?? executionName(item.executionArn),
      status: 'RUNNING',
      startedAt: (exec.startDate ?? item.startDate)?.toISOString(),
      staleLock: false,
    };
  }
  return undefined;
}

/** The shell command that deletes a stale lock (for the message; the CLI never deletes it itself). */
export function deleteLockCommand(table: string, target: Target): string {
  const key = JSON.stringify({ pk: { S: envPk(target) }, sk: { S: 'LOCK' } });
  return `aws dynamodb delete-item --table-name ${table} --key '${key}'`;
}

function inputConcerns(input: string | undefined, targetName: string, target: Target): boolean {
  let value: unknown;
  try {
    value = JSON.parse(input ?? 'null');
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  if (record.target === targetName) return true;
  const detail = record.detail as Record<string, unknown> | undefined;
  return record.source === 'aws.ecr' && detail?.['repository-name'] === target.source.repository;
}
