import type { Context } from 'aws-lambda';
import { logger } from '../lib/logger.js';
import { notifyOnCall } from '../lib/steps/notify.js';
import { parseState } from '../lib/workflow/input.js';

export const handler = async (
  event: unknown,
  context?: Context,
): Promise<{ subject: string; messageIds: string[] }> => {
  // No release when ResolveRelease failed: the alert then describes the raw input.
  const state = parseState(event, context, ['outcome']);
  const sent = await notifyOnCall(state);
  logger.info('on-call notified', { subject: sent.subject });
  return sent;
};
