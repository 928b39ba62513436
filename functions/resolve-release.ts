import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import { logger } from '../lib/logger.js';
import { type Resolution, resolveRelease } from '../lib/steps/resolve-release.js';
import { beginInvocation, logRelease, parseEvent } from '../lib/workflow/input.js';

// The state machine passes the raw input (never logged: a manual request is free text) with the execution's identity.
const event = v.object({
  input: v.optional(v.unknown()),
  executionId: v.pipe(v.string(), v.minLength(1)),
  startedAt: v.pipe(
    v.string(),
    v.check((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO time'),
  ),
  stateMachineArn: v.pipe(v.string(), v.minLength(1)),
});

export const handler = async (raw: unknown, context?: Context): Promise<Resolution> => {
  beginInvocation(context);
  const { input, ...exec } = parseEvent(event, raw, 'the execution identity');
  logger.appendKeys({ executionId: exec.executionId });
  const resolution = await resolveRelease(input, exec);
  if ('release' in resolution) logRelease(resolution.release);
  logger.info('release resolved', { resolution });
  return resolution;
};
