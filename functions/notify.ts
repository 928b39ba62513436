import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { logger } from '../lib/logger.js';
import { notifyOnCall } from '../lib/steps/notify.js';
import { parseEvent, startLogging } from '../lib/workflow/input.js';
import type { DeployState } from '../lib/workflow-state.js';

const outcome = z.object({ outcome: z.object({ status: z.string() }) });

export const handler = async (
  event: unknown,
  context?: Context,
): Promise<{ subject: string; messageIds: string[] }> => {
  parseEvent(outcome, event, 'the deployment outcome');
  const state = event as DeployState;
  startLogging(context, state.release);
  const sent = await notifyOnCall(state);
  logger.info('on-call notified', { subject: sent.subject });
  return sent;
};
