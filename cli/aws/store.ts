import type { Target } from '../../lib/config/schema.js';
import {
  getLastGood,
  getLock,
  type HistoryEntry,
  type LastGood,
  type LockItem,
  listHistory,
} from '../../lib/store/deployments.js';
import { type DriftItem, getDrift } from '../../lib/store/reconcile.js';
import type { Context } from '../context.js';
import { usage } from '../errors.js';

/**
 * The CLI's reads of ebship's table (`ebship-<stage>`), with a missing table reported as a stage
 * that is not deployed rather than as a raw ResourceNotFoundException.
 */
export function lastGood(ctx: Context, target: Target): Promise<LastGood | undefined> {
  return withTable(ctx, () => getLastGood(ctx.aws().db, ctx.names.table, target));
}

export function lock(ctx: Context, target: Target): Promise<LockItem | undefined> {
  return withTable(ctx, () => getLock(ctx.aws().db, ctx.names.table, target));
}

/** The version the reconciler found running that ebship did not deploy (and alerted about), if any. */
export function drift(ctx: Context, target: Target): Promise<DriftItem | undefined> {
  return withTable(ctx, () => getDrift(ctx.aws().db, ctx.names.table, target));
}

export function history(ctx: Context, target: Target, limit: number): Promise<HistoryEntry[]> {
  return withTable(ctx, () => listHistory(ctx.aws().db, ctx.names.table, target, limit));
}

export async function withTable<T>(ctx: Context, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if ((err as Error).name !== 'ResourceNotFoundException') throw err;
    const region = await ctx.region();
    throw usage(
      'table-not-found',
      `DynamoDB table ${ctx.names.table} does not exist in ${region}; deploy ebship with \`npx serverless deploy --stage ${ctx.names.stage}\``,
      'Or pass the --stage / --region it was deployed with.',
    );
  }
}
