import type { Target } from '../../lib/config/schema.js';
import { type Busy, deleteLockCommand } from '../aws/busy.js';
import type { Context } from '../context.js';
import { CliError } from '../errors.js';
import { ExitCode } from '../exit-codes.js';
import { formatTime } from '../output.js';

/** The "environment busy" error (exit 7): who holds it, since when, and what to do. */
export function busyError(ctx: Context, targetName: string, target: Target, busy: Busy): CliError {
  const env = `${target.application}/${target.environment}`;
  if (busy.staleLock && busy.lock) {
    return new CliError(
      `${env} is locked by execution ${busy.executionName}, which is ${busy.status} (not running); the lock expires at ${formatTime(busy.lock.leaseUntil)}. A deploy started now would wait for it and fail.`,
      ExitCode.Busy,
      'stale-lock',
      `Wait until the lease runs out, or after checking nothing is deploying ${target.environment}, delete the lock: ${deleteLockCommand(ctx.names.table, target)}`,
      details(busy),
    );
  }
  const version = busy.versionLabel ? `, deploying ${busy.versionLabel}` : '';
  return new CliError(
    `${targetName} (${env}) is busy: execution ${busy.executionName} is ${busy.status}${version} since ${formatTime(busy.startedAt)}`,
    ExitCode.Busy,
    'environment-busy',
    `Follow it with: ebship follow ${busy.executionName}${ctx.stageFlag}`,
    details(busy),
  );
}

function details(busy: Busy): Record<string, unknown> {
  return {
    executionArn: busy.executionArn,
    executionName: busy.executionName,
    status: busy.status,
    startedAt: busy.startedAt,
    versionLabel: busy.versionLabel,
    staleLock: busy.staleLock,
    lock: busy.lock,
  };
}
