import type { Context } from 'aws-lambda';
import { logger } from '../lib/logger.js';
import { type WakeResult, wakeOnEbEvent } from '../lib/steps/watch.js';
import { beginInvocation } from '../lib/workflow/input.js';

/** Target of EbEventsRule (infra/events.yml): EB's health and status changes wake the health watch. */
export const handler = async (event: unknown, context?: Context): Promise<WakeResult> => {
  beginInvocation(context);
  const done = await wakeOnEbEvent(event);
  logger.info('EB event handled', { ...done });
  return done;
};
