import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { logger } from '../lib/logger.js';
import { type Resolution, resolveRelease } from '../lib/steps/resolve-release.js';
import { parseEvent, startLogging } from '../lib/workflow/input.js';

// The state machine passes the raw input (never logged: a manual request is free text) with the execution's identity.
const event = z.object({
  input: z.unknown(),
  executionId: z.string().min(1),
  startedAt: z.string().min(1),
  stateMachineArn: z.string().min(1),
});

export const handler = async (raw: unknown, context?: Context): Promise<Resolution> => {
  const { input, ...exec } = parseEvent(event, raw, 'the execution identity');
  startLogging(context);
  logger.appendKeys({ executionId: exec.executionId });
  const resolution = await resolveRelease(input, exec);
  if ('release' in resolution) startLogging(undefined, resolution.release);
  logger.info('release resolved', { resolution });
  return resolution;
};
