import type { Context } from 'aws-lambda';
import { logger } from '../lib/logger.js';
import { alertUndeliveredEvents, type UndeliveredAlerted } from '../lib/steps/undelivered-events.js';

/** Target of UndeliveredEventsRule (infra/events.yml): the dead-letter-queue alarm went to ALARM. */
export const handler = async (event: unknown, context?: Context): Promise<UndeliveredAlerted> => {
  if (context) logger.addContext(context);
  const done = await alertUndeliveredEvents(event);
  logger.info('undelivered events alarm handled', { ...done });
  return done;
};
