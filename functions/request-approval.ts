import type { Context } from 'aws-lambda';
import * as v from 'valibot';
import { type ApprovalRequested, requestApproval } from '../lib/steps/approval.js';
import { parseEvent, startLogging } from '../lib/workflow/input.js';
import { releaseSchema } from '../lib/workflow/schemas.js';

/**
 * The Lambda of WaitForApproval (`lambda:invoke.waitForTaskToken`): stores the task token on the
 * environment's APPROVAL item, alerts on-call once, and returns. Step Functions ignores the return
 * value; the Task ends on `ebship approve` / `ebship reject` or its timeout (promote.timeoutSeconds).
 */
const request = v.object({
  // TaskToken: 1 to 2048 characters (Step Functions API reference, SendTaskSuccess).
  taskToken: v.pipe(v.string(), v.minLength(1), v.maxLength(2048)),
  release: releaseSchema,
});

export const handler = async (event: unknown, context?: Context): Promise<ApprovalRequested> => {
  const input = parseEvent(request, event, 'the approval request');
  startLogging(context, input.release);
  return requestApproval(input);
};
