import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import { type Registered, registerWatch } from '../lib/steps/watch.js';
import { parseEvent, startLogging } from '../lib/workflow/input.js';
import { releaseSchema } from '../lib/workflow/schemas.js';

/**
 * The Lambda of WaitForHealthEvent / WaitForRollbackHealthEvent (`lambda:invoke.waitForTaskToken`):
 * stores the task token for ebEvents and returns. Step Functions ignores the return value; the
 * Task ends on SendTaskSuccess or its timeout (the fallback poll).
 */
const registration = v.object({
  // TaskToken: 1 to 2048 characters (Step Functions API reference, SendTaskSuccess).
  taskToken: v.pipe(v.string(), v.minLength(1), v.maxLength(2048)),
  phase: v.picklist(['deploy', 'rollback']),
  release: releaseSchema,
  watch: v.looseObject({ toVersion: v.pipe(v.string(), v.minLength(1)) }),
  // The verdict of the look before this wait: anything but wait ends the watch (WatchEnded).
  verdict: v.picklist(['wait', 'healthy', 'rollback', 'timeout', 'overridden', 'abort']),
});

export const handler = async (event: unknown, context?: Context): Promise<Registered> => {
  const input = parseEvent(registration, event, 'the health watch registration');
  startLogging(context, input.release);
  const { application, environment, executionId } = input.release;
  return registerWatch({
    taskToken: input.taskToken,
    phase: input.phase,
    key: { application, environment },
    executionId,
    expectedVersion: input.watch.toVersion,
    verdict: input.verdict,
  });
};
