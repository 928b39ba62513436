import type { Context } from 'aws-lambda';
import { logger } from '../lib/logger.js';
import { type Finalised, finishEndedExecution } from '../lib/steps/execution-ended.js';

/** Target of ExecutionEndedRule (infra/events.yml): a stopped or timed-out deploy execution. */
export const handler = async (event: unknown, context?: Context): Promise<Finalised> => {
  if (context) logger.addContext(context);
  const done = await finishEndedExecution(event);
  logger.info('ended execution finalised', { ...done });
  return done;
};
