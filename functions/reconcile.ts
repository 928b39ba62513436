import type { Context } from 'aws-lambda';
import { logger } from '../lib/logger.js';
import { type ReconcileReport, reconcile } from '../lib/steps/reconcile.js';

/**
 * Target of ReconcileRule (infra/events.yml, every 5 minutes): lost pushes and drift, per target.
 * The scheduled event carries nothing it needs (only its time), so it is not parsed. A failing
 * target is in the report and the log, never an error of the invocation: Lambda would retry the
 * whole run, and the next run comes in five minutes anyway.
 */
export const handler = async (_event: unknown, context?: Context): Promise<ReconcileReport> => {
  if (context) logger.addContext(context);
  const report = await reconcile();
  logger.info('reconciled', { ...report });
  return report;
};
